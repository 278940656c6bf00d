"""Plain epoch functions: one training epoch of seeded random crops, its loss and step.
(Per-song validation runs the inference contract: ``inference.net`` / ``inference.apply``.)"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.sampling import balanced_indices, uniform_indices


def standardize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (x - mean[None, :, None, None]) / std[None, :, None, None]


def train_epoch(model, opt, sched, songs, *, width, mean, std, cfg, epoch, device, loss_weight,
                scaler=None, progress=None, augment=None, db_channels=None,
                freeze_backbone: bool = False, shard: tuple[int, int] = (0, 1)) -> float:
    """One epoch of seeded random crops (augmented when ``augment`` is active); returns the
    mean training loss.

    ``shard=(rank, world)``: data-parallel training. Every rank builds the same global batch
    (same crops, augmentation and mixup pairs) and trains on ``batch[rank::world]``; the
    loss is normalised by the global batch's class-weight sum, so DDP's averaged gradient
    equals the one-process gradient of the global batch (``training.distributed``).
    """
    from .augment import mixup, pitch_shift, random_gain, spec_mask, stretched_crop

    rank, world = shard
    order, rng = crop_order(songs, cfg, epoch)
    n = len(order)
    model.train()
    core = getattr(model, "module", model)  # under DDP, the wrapped model
    for name, p in core.named_parameters():  # frozen: only the head learns
        p.requires_grad_(not freeze_backbone or name.startswith("head."))
    if freeze_backbone:  # and BatchNorm statistics stay those of the pretrained backbone
        for name, child in core.named_children():
            if name != "head":
                child.eval()
    total, count = 0.0, 0
    for b in range(0, n, cfg.batch_size):
        idx = order[b:b + cfg.batch_size]
        if len(idx) < 2 * world:  # BatchNorm needs 2 samples (per process)
            continue
        stretch = augment.time_stretch if augment is not None else 0.0
        xb = np.stack([stretched_crop(songs.features[i], width, stretch, rng)
                       for i in idx]).astype(np.float32)
        y = torch.from_numpy(songs.labels[idx]).to(device)
        ya, lam = y, 1.0
        if augment is not None and augment.active:
            xb = random_gain(xb, augment.gain_db, db_channels, rng)
            xb = pitch_shift(xb, augment.pitch_shift_bins, rng)
        x = standardize(torch.from_numpy(xb).to(device), mean, std)
        if augment is not None and augment.active:
            x = spec_mask(x, augment, rng)
            x, y, ya, lam = mixup(x, y, augment.mixup_alpha, rng)
        den = (_weight_sum(y, loss_weight), _weight_sum(ya, loss_weight))
        x, y, ya = x[rank::world], y[rank::world], ya[rank::world]
        with torch.autocast(device.type, enabled=scaler is not None):
            part = mixed_loss(model(x).float(), y, ya, lam, loss_weight, cfg.label_smoothing,
                              den=den)
        step(part * world, opt, sched, scaler)  # DDP averages gradients over the world
        total += float(part.detach()) * len(idx)
        count += len(idx)
        if progress:
            progress(len(idx))
    if world > 1:  # each rank holds its shards' parts of every batch loss: add them up
        import torch.distributed as dist

        t = torch.tensor([total], dtype=torch.float64, device=device)  # NCCL: on the GPU
        dist.all_reduce(t)
        total = float(t)
    return total / max(count, 1)


def _weight_sum(y, weight) -> float:
    return float(weight[y].sum()) if weight is not None else float(len(y))


def crop_order(songs, cfg, epoch) -> tuple[np.ndarray, np.random.Generator]:
    """The epoch's seeded song order (class-balanced when configured) and its generator."""
    rng = np.random.default_rng([cfg.seed, epoch])
    n = len(songs) * cfg.crops_per_song
    if cfg.balanced_sampler:
        return balanced_indices(songs.labels, n, rng), rng
    return uniform_indices(len(songs), n, rng), rng


def mixed_loss(logits, y, ya, lam, weight, smoothing, den=None):
    """Class-weighted cross-entropy, mixed like the inputs when mixup made them (lam < 1).

    ``den=(sum_y, sum_ya)``: divide the summed per-sample losses by these class-weight sums
    instead of this batch's own (a shard of a larger batch); default: the weighted mean.
    """
    def part(target, d):
        ce = F.cross_entropy(logits, target, weight=weight, label_smoothing=smoothing,
                             reduction="none")
        return ce.sum() / (d if d is not None else _weight_sum(target, weight))

    den_y, den_ya = den if den is not None else (None, None)
    loss = lam * part(y, den_y)
    if lam < 1.0:
        loss = loss + (1 - lam) * part(ya, den_ya)
    return loss


def step(loss, opt, sched, scaler=None):
    opt.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        opt.step()
    if sched is not None:
        sched.step()
