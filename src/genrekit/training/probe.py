"""Linear probe: when the backbone stays frozen for the whole run (``freeze_epochs >=
epochs``, e.g. a pretrained ``musicnn``), each slice's embedding is computed once and only
the head trains on them. Same model as running the frozen backbone every step (without
input-space augmentation), at the cost of one forward pass per slice instead of one per
step. Training draws a random grid slice of a song where the full loop draws a random crop.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.slices import grid_slices
from ..errors import ParameterError
from ..inference.aggregate import aggregate
from .loop import crop_order, mixed_loss, standardize, step


def check_probe_augment(augment) -> None:
    """Input-space augmentations need the backbone in the loop; mixup works on embeddings."""
    bad = [n for n in ("freq_mask", "time_mask", "gain_db", "pitch_shift_bins", "time_stretch")
           if getattr(augment, n)]
    if bad:
        raise ParameterError(
            f"a frozen backbone (freeze_epochs >= epochs) trains on precomputed embeddings, "
            f"so augment.{', augment.'.join(bad)} cannot apply: set them to 0 (mixup_alpha "
            "works) or freeze for fewer epochs than the run")


@torch.no_grad()
def embed_songs(model, songs, *, width, hop, mean, std, device, batch_size=64,
                progress=None) -> list[np.ndarray]:
    """Embeddings ``[N_i, D]`` of every grid slice of every song (backbone in eval mode)."""
    model.eval()
    out = []
    for path, X in zip(songs.paths, songs.features, strict=True):
        slices, _ = grid_slices(X, width, hop)
        parts = []
        for b in range(0, len(slices), batch_size):
            x = torch.from_numpy(slices[b:b + batch_size].astype(np.float32)).to(device)
            parts.append(model.forward_features(standardize(x, mean, std)).float().cpu())
        out.append(torch.cat(parts).numpy())
        if progress:
            progress(path, "ok")
    return out


def train_head_epoch(model, opt, sched, songs, embeddings, *, cfg, epoch, device, loss_weight,
                     augment=None, progress=None) -> float:
    """One epoch of the head on random grid-slice embeddings; returns the mean loss."""
    from .augment import mixup

    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("head."))
    model.head.train()
    order, rng = crop_order(songs, cfg, epoch)
    alpha = augment.mixup_alpha if augment is not None else 0.0
    total, count = 0.0, 0
    for b in range(0, len(order), cfg.batch_size):
        idx = order[b:b + cfg.batch_size]
        if len(idx) < 2:  # BatchNorm needs 2 samples
            continue
        z = np.stack([embeddings[i][rng.integers(len(embeddings[i]))] for i in idx])
        z = torch.from_numpy(z).to(device)
        y = torch.from_numpy(songs.labels[idx]).to(device)
        z, y, ya, lam = mixup(z, y, alpha, rng)
        loss = mixed_loss(model.forward_head(z).float(), y, ya, lam, loss_weight,
                          cfg.label_smoothing)
        step(loss, opt, sched)
        total += float(loss.detach()) * len(idx)
        count += len(idx)
        if progress:
            progress(len(idx))
    return total / max(count, 1)


@torch.no_grad()
def predict_from_embeddings(model, embeddings, *, device, rule="confidence"):
    """``(song_scores [S, K], slice_probs list of [N_i, K])`` as ``inference.apply.songs_through``
    (the head alone on precomputed embeddings: the probe's validation)."""
    model.head.eval()
    scores, slice_probs = [], []
    for E in embeddings:
        P = torch.softmax(model.forward_head(torch.from_numpy(E).to(device)).float(), 1)
        slice_probs.append(P.cpu().numpy())
        scores.append(aggregate(slice_probs[-1], rule))
    return np.stack(scores), slice_probs
