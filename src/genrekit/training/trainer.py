"""``train(cfg, catalog, out_dir) -> TrainResult``: the whole training run.

A run folder holds ``config.yaml``, ``metrics.csv``, ``curves.png``, ``best.pt`` (best
validation macro-F1), ``last.pt`` (full training state, written atomically every epoch, so
``resume=True`` after a kill loses at most the epoch in progress).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .run import TrainingRun, make_checkpoint  # noqa: F401  (make_checkpoint: public here too)


@dataclass
class TrainResult:
    out_dir: Path
    best_path: Path
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)


class Callbacks:
    """Hooks for a UI; the library itself prints nothing."""

    def on_data(self, stage: str, total: int): ...
    def on_file(self, path: str, status: str): ...
    def on_epoch_start(self, epoch: int, epochs: int, samples: int): ...
    def on_step(self, n: int): ...
    def on_epoch_end(self, row: dict, improved: bool): ...


def resolve_device(name: str):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ParameterError(f"bad device {name!r}: {exc}") from None


def prepare_splits(catalog, cfg):
    """train/valid tracks: the catalog's own splits if any, else a seeded per-group split."""
    from ..data.splits import split_catalog

    labelled = [t for t in catalog if t.label is not None]
    if not labelled:
        raise ParameterError("the catalog has no labelled songs")
    if not any(t.split in ("train", "valid") for t in labelled):
        from ..data.manifest import Catalog

        catalog = split_catalog(Catalog(labelled, catalog.root), valid_fraction=
                                cfg.train.valid_fraction, seed=cfg.train.seed)
        labelled = list(catalog)
    train = [t for t in labelled if t.split == "train"]
    valid = [t for t in labelled if t.split == "valid"]
    if not train or not valid:
        raise ParameterError(f"need songs in both train and valid splits, got {len(train)} "
                             f"train and {len(valid)} valid")
    classes = sorted({t.label for t in train})
    unseen = sorted({t.label for t in valid} - set(classes))
    if unseen:
        raise ParameterError(f"valid has labels with no training song: {', '.join(unseen)}")
    if len(classes) < 2:
        raise ParameterError(f"need at least 2 labels to train, got {classes}")
    return train, valid, classes


def train(cfg, catalog, out_dir, *, resume: bool = False, callbacks: Callbacks | None = None,
          init: dict | None = None) -> TrainResult:
    """Train ``cfg`` on ``catalog``'s train split, selecting on its valid split.

    ``init``: a loaded checkpoint to fine-tune from: its backbone weights and normalisation
    are kept and a new head is made for this catalog's classes (its head is kept when the
    classes are the same); its feature spec, slicing and model must be those of ``cfg``
    (``genrekit finetune`` arranges that).
    Under torchrun (``genrekit train --nproc N``) this is one rank of a data-parallel run
    (``training.distributed``); only rank 0 writes files and reports to ``callbacks``.
    """
    import torch

    from ..checkpoint import load_checkpoint
    from ..data.sampling import class_weights
    from ..data.slices import slice_frames
    from ..models import create_model
    from . import distributed
    from .songs import channel_stats, choose_backend, load_songs

    tc, spec = cfg.train, cfg.features
    world, device_name = distributed.setup(tc.device)
    distributed.check(tc, world.size)
    probe = tc.freeze_epochs >= tc.epochs
    cb = callbacks if (callbacks is not None and world.main) else Callbacks()
    out = Path(out_dir)  # made once the songs are read: a refused run leaves no folder
    train_t, valid_t, classes = prepare_splits(catalog, cfg)
    failures = []
    sets = {}
    device = resolve_device(device_name)
    backend, feature_device = choose_backend(tc.feature_backend, device, spec, tc.cache_dir,
                                             [t.path for t in train_t + valid_t])
    if not world.main:  # rank 0 fills the feature cache, the others then read it
        world.barrier()
    for name, tracks in (("train", train_t), ("valid", valid_t)):
        cb.on_data(name if feature_device is None else f"{name}, on {feature_device}",
                   len(tracks))
        sets[name], bad = load_songs(tracks, classes, spec, tc.cache_dir, jobs=tc.jobs,
                                     progress=cb.on_file, backend=backend,
                                     device=feature_device)
        failures += bad
    if world.main:
        world.barrier()
    tr, va = sets["train"], sets["valid"]
    if world.main and failures:  # every unreadable song, with its reason, in the run folder
        from ..engine.local import write_failures

        out.mkdir(parents=True, exist_ok=True)
        write_failures(out / "failures.csv", failures)
    if len(set(tr.labels.tolist())) < 2 or not len(va):
        from ..errors import UnreadableDataError

        raise UnreadableDataError(
            f"too few readable songs left to train: {len(tr)} training songs in "
            f"{len(set(tr.labels.tolist()))} genre(s), {len(va)} validation songs after "
            f"{len(failures)} of {len(train_t) + len(valid_t)} failed to decode"
            + (f" (all listed in {out / 'failures.csv'})" if failures else ""), failures)
    out.mkdir(parents=True, exist_ok=True)
    if world.main:
        _write_yaml(out / "config.yaml", cfg.to_dict())

    torch.manual_seed(tc.seed)
    width, hop = slice_frames(cfg.slices, spec)
    model = create_model(cfg.model.name, len(classes), spec.n_channels, **cfg.model.kwargs)
    check_model_features(model, spec)
    if init is not None:  # the backbone expects the inputs it was trained on
        mean_np = np.asarray(init["normalization"]["mean"], dtype=np.float32)
        std_np = np.asarray(init["normalization"]["std"], dtype=np.float32)
    elif getattr(model, "takes_raw_features", False):  # it normalises its input itself
        mean_np = np.zeros(spec.n_channels, np.float32)
        std_np = np.ones(spec.n_channels, np.float32)
    else:
        mean_np, std_np = channel_stats(tr)
    if init is not None:  # the same labels: keep its head too (continue, don't restart)
        _load_backbone(model, init, keep_head=list(init["classes"]) == list(classes))
    model = model.to(device)
    w = class_weights(tr.labels, len(classes), power=tc.class_weight_power)
    run = TrainingRun(cfg=cfg, classes=classes, out=out, cb=cb, world=world, device=device,
               model=model, mean_np=mean_np, std_np=std_np, width=width, hop=hop,
               loss_weight=torch.from_numpy(w).to(device) if tc.class_weights else None)
    run.opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    n = len(tr) * tc.crops_per_song
    steps = sum(1 for b in range(0, n, tc.batch_size)
                if min(tc.batch_size, n - b) >= 2 * world.size)
    run.sched = _scheduler(run.opt, tc, steps)
    run.scaler = torch.amp.GradScaler() if (tc.amp and device.type == "cuda") else None

    start = 1
    last_path = out / "last.pt"
    if resume and last_path.exists():  # every rank reads the same file, any world size
        ck = load_checkpoint(last_path)
        st = ck["train_state"]
        model.load_state_dict(ck["state_dict"])
        run.opt.load_state_dict(st["optimizer"])
        if run.sched is not None:
            run.sched.load_state_dict(st["scheduler"])
        torch.set_rng_state(st["torch_rng"])
        run.history, run.best, run.stale = st["history"], st["best"], st["stale"]
        start = st["epoch"] + 1
    run.net = distributed.wrap(model, device, world, find_unused=tc.freeze_epochs > 0)
    finished = start > tc.epochs or (tc.patience and run.stale >= tc.patience)
    emb = run.embed(tr, va) if probe and not finished else None

    for epoch in range(start, tc.epochs + 1):
        if tc.patience and world.broadcast(run.stale) >= tc.patience:
            break
        cb.on_epoch_start(epoch, tc.epochs, n)
        loss = run.train_epoch(epoch, tr, emb)
        if world.main:
            run.validate(epoch, loss, va, emb)
        world.barrier()
    run.net = None  # the DDP wrapper holds the process group: let go of it before leaving
    if world.main and (out / "best.pt").exists():
        attach_open_set(out / "best.pt", tr, va, train_t, device, cb)
    world.close()
    return TrainResult(out, out / "best.pt", run.history, run.best, failures)


def attach_open_set(best: Path, tr, va, train_tracks, device, cb) -> None:
    """Give the best checkpoint its novelty model, conformal calibration and thresholds
    (``training.open_set``), fitted on its own embeddings; an interrupted or resumed run
    refits it (seconds)."""
    from ..checkpoint import load_checkpoint, save_checkpoint
    from .open_set import checkpoint_open_set

    ck = load_checkpoint(best)
    cb.on_data("novelty model and calibration", len(tr) + len(va))
    group = {str(t.path): t.group or str(t.path) for t in train_tracks}
    os_ = checkpoint_open_set(ck, tr, va, train_groups=[group.get(p, p) for p in tr.paths],
                              device=device)
    ck["open_set"] = os_.to_dict()
    save_checkpoint(best, ck)


def check_model_features(model, spec) -> None:
    """A pretrained model names the features it was trained on (``expects_features``)."""
    want = getattr(model, "expects_features", None)
    if not want:
        return
    have = spec.to_dict()
    diff = {k: (have[k], v) for k, v in want.items()
            if (tuple(have[k]) if k == "names" else have[k]) != v}
    if diff:
        desc = ", ".join(f"{k}={v!r} (config has {h!r})" for k, (h, v) in diff.items())
        raise ParameterError(f"this model was pretrained on other features: it needs {desc}; "
                             "start from its config (configs/musicnn.yaml)")


def _load_backbone(model, ckpt: dict, keep_head: bool = False) -> None:
    """Every weight but the head's from ``ckpt`` (which may have other classes); the head's
    too with ``keep_head``."""
    from ..errors import CheckpointError

    sd = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()
          if keep_head or not k.startswith("head.")}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if unexpected or any(not k.startswith("head.") for k in missing):
        raise CheckpointError("<init checkpoint>", "its backbone does not fit this model "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")


def _scheduler(opt, tc, steps_per_epoch: int):
    import torch

    total = max(1, steps_per_epoch * tc.epochs)
    if tc.schedule == "cosine":
        warm = min(total // 10, 3 * steps_per_epoch)
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / max(warm, 1)) * 0.5 *
            (1 + math.cos(math.pi * min(s, total) / total)))
    if tc.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=tc.lr, total_steps=total)
    return None


def _write_yaml(path: Path, data: dict):
    import yaml

    from ..fileio import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))

