"""One training run's state and its per-epoch steps: train (full loop or linear probe),
validate per song, save ``best.pt`` / ``last.pt`` / metrics / curves (rank 0 only)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__


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


def write_metrics(path: Path, history: list[dict]):
    from ..fileio import atomic_write

    with atomic_write(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)


@dataclass
class TrainingRun:
    """The state of one training run and its per-epoch steps (train, validate, save)."""

    cfg: object
    classes: list
    out: Path
    cb: object  # trainer.Callbacks
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

    mean: object = field(init=False)  # mean_np / std_np as tensors on the device
    std: object = field(init=False)

    def __post_init__(self):
        import torch

        self.mean = torch.from_numpy(self.mean_np).to(self.device)
        self.std = torch.from_numpy(self.std_np).to(self.device)

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

            if tc.head == "song":  # one closed fit, not epochs
                from .song_head import fit_song_head, install_head

                install_head(self.model, fit_song_head(emb["train"], tr.labels,
                                                       len(self.classes), C=tc.head_c))
                return float("nan")
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
        from .metrics import better_epoch, song_and_slice_metrics
        from .plots import plot_curves

        tc = self.cfg.train
        if emb is not None:
            from .probe import predict_from_embeddings

            scores, sl = predict_from_embeddings(self.model, emb["valid"], device=self.device,
                                                 rule=tc.aggregate)
        else:
            from ..inference.apply import songs_through
            from ..inference.net import InferenceNet
            from ..inference.runners import TorchRunner

            runner = TorchRunner(InferenceNet(self.model, self.mean, self.std), self.device)
            scores, sl = songs_through(runner, va.features, width=self.width, hop=self.hop,
                                       rule=tc.aggregate)
        rep = song_and_slice_metrics(scores, sl, va.labels, self.classes)
        row = {"epoch": epoch, "train_loss": loss, "valid_accuracy": rep["accuracy"],
               "valid_macro_f1": rep["macro_f1"], "valid_slice_accuracy": rep["slice_accuracy"],
               "valid_slice_loss": rep["slice_loss"], "lr": self.opt.param_groups[0]["lr"]}
        self.history.append(row)
        improved = better_epoch(row, self.best)
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
        write_metrics(self.out / "metrics.csv", self.history)
        plot_curves(self.history, self.out / "curves.png")
        self.cb.on_epoch_end(row, improved)
