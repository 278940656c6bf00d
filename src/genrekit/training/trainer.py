"""``train(cfg, catalog, out_dir) -> TrainResult``: the whole training run.

A run folder holds ``config.yaml``, ``metrics.csv``, ``curves.png``, ``best.pt`` (best
validation macro-F1), ``last.pt`` (full training state, written atomically every epoch, so
``resume=True`` after a kill loses at most the epoch in progress).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ParameterError


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


def make_checkpoint(model, cfg, classes, mean, std, metrics, **extra) -> dict:
    import torch

    return {
        "genrekit_version": __version__,
        "model": {"name": cfg.model.name, "kwargs": dict(cfg.model.kwargs),
                  "inference_batch_size": getattr(model, "inference_batch_size", 16)},
        "classes": list(classes),
        "features": cfg.features.to_dict(),
        "slices": {"slice_seconds": cfg.slices.slice_seconds,
                   "slice_hop_seconds": cfg.slices.slice_hop_seconds,
                   "aggregate": cfg.train.aggregate},
        "normalization": {"mean": torch.as_tensor(mean), "std": torch.as_tensor(std)},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metrics": metrics,
        "config": cfg.to_dict(),
        **extra,
    }


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
    from ..data.slices import seconds_to_frames
    from ..models import create_model
    from . import distributed
    from .songs import channel_stats, load_songs

    tc, spec = cfg.train, cfg.features
    world, device_name = distributed.setup(tc.device)
    distributed.check(tc, world.size)
    probe = tc.freeze_epochs >= tc.epochs
    cb = callbacks if (callbacks is not None and world.main) else Callbacks()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_t, valid_t, classes = prepare_splits(catalog, cfg)
    failures = []
    sets = {}
    if not world.main:  # rank 0 fills the feature cache, the others then read it
        world.barrier()
    for name, tracks in (("train", train_t), ("valid", valid_t)):
        cb.on_data(name, len(tracks))
        sets[name], bad = load_songs(tracks, classes, spec, tc.cache_dir, jobs=tc.jobs,
                                     progress=cb.on_file)
        failures += bad
    if world.main:
        world.barrier()
    tr, va = sets["train"], sets["valid"]
    if len(set(tr.labels.tolist())) < 2 or not len(va):
        raise ParameterError("too few readable songs left to train after decoding failures")
    if world.main:
        _write_yaml(out / "config.yaml", cfg.to_dict())

    device = resolve_device(device_name)
    torch.manual_seed(tc.seed)
    width = seconds_to_frames(cfg.slices.slice_seconds, spec.sr, spec.hop_length)
    hop = seconds_to_frames(cfg.slices.slice_hop_seconds, spec.sr, spec.hop_length)
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
    run = _Run(cfg=cfg, classes=classes, out=out, cb=cb, world=world, device=device,
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
    return TrainResult(out, out / "best.pt", run.history, run.best, failures)


@dataclass
class _Run:
    """The state of one training run and its per-epoch steps (train, validate, save)."""

    cfg: object
    classes: list
    out: Path
    cb: Callbacks
    world: object
    device: object
    model: object  # the plain module (what is saved and validated)
    mean_np: np.ndarray
    std_np: np.ndarray
    width: int
    hop: int
    loss_weight: object
    net: object = None  # what trains: the DDP wrapper under torchrun, else the model
    opt: object = None
    sched: object = None
    scaler: object = None
    history: list = field(default_factory=list)
    best: dict = field(default_factory=dict)
    stale: int = 0

    @property
    def mean(self):
        import torch

        return torch.from_numpy(self.mean_np).to(self.device)

    @property
    def std(self):
        import torch

        return torch.from_numpy(self.std_np).to(self.device)

    def embed(self, tr, va) -> dict:
        from .probe import check_probe_augment, embed_songs

        check_probe_augment(self.cfg.augment)
        emb = {}
        for name, songs in (("train", tr), ("valid", va)):
            self.cb.on_data(f"{name} embeddings", len(songs))
            emb[name] = embed_songs(self.model, songs, width=self.width, hop=self.hop,
                                    mean=self.mean, std=self.std, device=self.device,
                                    progress=self.cb.on_file)
        return emb

    def train_epoch(self, epoch, tr, emb) -> float:
        from .loop import train_epoch

        tc = self.cfg.train
        if emb is not None:
            from .probe import train_head_epoch

            return train_head_epoch(self.model, self.opt, self.sched, tr, emb["train"], cfg=tc,
                                    epoch=epoch, device=self.device,
                                    loss_weight=self.loss_weight, augment=self.cfg.augment,
                                    progress=self.cb.on_step)
        db_channels = np.array([c.endswith("_db") for c in self.cfg.features.channel_names])
        return train_epoch(self.net, self.opt, self.sched, tr, width=self.width,
                           mean=self.mean, std=self.std, cfg=tc, epoch=epoch,
                           device=self.device, loss_weight=self.loss_weight,
                           scaler=self.scaler, progress=self.cb.on_step,
                           augment=self.cfg.augment, db_channels=db_channels,
                           freeze_backbone=epoch <= tc.freeze_epochs,
                           shard=(self.world.rank, self.world.size))

    def validate(self, epoch, loss, va, emb) -> None:
        """Per-song validation; saves best.pt when it improved and last.pt always."""
        from ..checkpoint import save_checkpoint
        from .loop import predict_songs, song_and_slice_metrics
        from .plots import plot_curves

        tc = self.cfg.train
        if emb is not None:
            from .probe import predict_from_embeddings

            scores, sl = predict_from_embeddings(self.model, emb["valid"], device=self.device,
                                                 rule=tc.aggregate)
        else:
            scores, sl = predict_songs(self.model, va, width=self.width, hop=self.hop,
                                       mean=self.mean, std=self.std, device=self.device,
                                       rule=tc.aggregate)
        rep = song_and_slice_metrics(scores, sl, va.labels, self.classes)
        row = {"epoch": epoch, "train_loss": loss, "valid_accuracy": rep["accuracy"],
               "valid_macro_f1": rep["macro_f1"], "valid_slice_accuracy": rep["slice_accuracy"],
               "valid_slice_loss": rep["slice_loss"], "lr": self.opt.param_groups[0]["lr"]}
        self.history.append(row)
        best = self.best
        improved = not best or (rep["macro_f1"], -rep["slice_loss"]) > (
            best["valid_macro_f1"], -best["valid_slice_loss"])
        ck = lambda metrics, **extra: make_checkpoint(  # noqa: E731
            self.model, self.cfg, self.classes, self.mean_np, self.std_np, metrics, **extra)
        if improved:
            self.best, self.stale = dict(row), 0
            metrics = {"valid": {k: rep[k] for k in ("n", "accuracy", "macro_f1",
                                                     "slice_accuracy")}, "epoch": epoch}
            save_checkpoint(self.out / "best.pt", ck(metrics))
        else:
            self.stale += 1
        import torch

        state = {"optimizer": self.opt.state_dict(), "epoch": epoch, "history": self.history,
                 "best": self.best, "stale": self.stale, "torch_rng": torch.get_rng_state(),
                 "scheduler": self.sched.state_dict() if self.sched is not None else None}
        save_checkpoint(self.out / "last.pt", ck({"epoch": epoch}, train_state=state))
        _write_metrics(self.out / "metrics.csv", self.history)
        plot_curves(self.history, self.out / "curves.png")
        self.cb.on_epoch_end(row, improved)


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


def _write_metrics(path: Path, history: list[dict]):
    from ..fileio import atomic_write

    with atomic_write(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)


def _write_yaml(path: Path, data: dict):
    import yaml

    from ..fileio import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))

