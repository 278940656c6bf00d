"""``genrekit finetune CHECKPOINT NEWDATA --out runs/NAME``: a trained model (``default``:
the bundled one) adapted to a new label set: same features and backbone, a new head."""

from __future__ import annotations

from .common import (
    add_audio_dir_arg,
    add_cache_arg,
    add_jobs_arg,
    check_outputs,
    in_range,
    report_failures,
)

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("train",)


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint, or 'default' for the bundled model")
    p.add_argument("data", help="your labelled catalog: a folder per genre or a CSV")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--epochs", type=in_range(int, lo=1), default=None,
                   help="default: for a model with a song head (the bundled one) one closed "
                   "fit of a new song head on the frozen backbone (seconds); 40 for another "
                   "frozen-backbone model, else 15. Giving --epochs trains a slice head")
    p.add_argument("--freeze-epochs", type=in_range(int, lo=0), default=None,
                   help="epochs that train only the new head before everything; default: "
                   "all of them for a model trained with a frozen pretrained backbone (the "
                   "bundled one: a fast linear probe), else 3")
    p.add_argument("--lr", type=in_range(float, lo=0, lo_open=True), default=5e-4,
                   help="learning rate, > 0 (default 5e-4)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a train/augment setting, e.g. --set train.batch_size=16")
    add_cache_arg(p)
    add_jobs_arg(p)
    add_audio_dir_arg(p)
    p.add_argument("--resume", action="store_true")


def finetune_config(ckpt: dict, args):
    """The checkpoint's features, slicing, model and augmentation; fine-tuning defaults for
    training; then the user's overrides."""
    from ..config import Config, TrainConfig

    base = Config.from_dict({k: v for k, v in ckpt["config"].items()
                             if k in ("features", "slices", "model", "augment")})
    d = base.to_dict()
    was = ckpt["config"].get("train", {})
    frozen = was.get("freeze_epochs", 0) >= was.get("epochs", 1)
    epochs = args.epochs or (40 if frozen else 15)
    freeze = args.freeze_epochs
    if freeze is None:
        freeze = epochs if frozen else 3
    d["train"] = {**TrainConfig().__dict__, "epochs": epochs, "lr": args.lr,
                  "freeze_epochs": freeze, "patience": 0,
                  "cache_dir": args.cache_dir, "jobs": args.jobs}
    if was.get("head") == "song" and args.epochs is None and args.freeze_epochs is None:
        # a song head (the bundled model's): refit it on the new labels, one pass
        d["train"].update(epochs=1, freeze_epochs=1, head="song",
                          head_c=was.get("head_c", 0.01), aggregate="geometric")
    return Config.from_dict(d).override(args.set)


def run(args) -> int:
    import sys
    from pathlib import Path

    from ..checkpoint import load_checkpoint
    from ..inference.classifier import DEFAULT_MODEL
    from ..training.trainer import train
    from ..ui import TrainProgress
    from .train import load_labelled_catalog

    src = DEFAULT_MODEL if args.checkpoint == "default" else Path(args.checkpoint)
    ckpt = load_checkpoint(src)
    cfg = finetune_config(ckpt, args)
    out = Path(args.out)
    check_outputs(("--out", out, True), ("--cache-dir", cfg.train.cache_dir, True))
    if (out / "last.pt").exists() and not args.resume:
        print(f"genrekit finetune: {out} already holds a run; pass --resume or choose another "
              "--out", file=sys.stderr)
        return 2
    cat = load_labelled_catalog(args.data, args.audio_dir, on_conflict=args.on_conflict)
    with TrainProgress() as ui:
        res = train(cfg, cat, out, resume=args.resume, callbacks=ui, init=ckpt)
    b = res.best
    new_classes = load_checkpoint(res.best_path)["classes"]
    print(f"fine-tuned {src.name} to {len(new_classes)} classes ({', '.join(new_classes)}); "
          f"best epoch {b['epoch']}: valid accuracy {b['valid_accuracy']:.3f}, macro-F1 "
          f"{b['valid_macro_f1']:.3f} -> {res.best_path}")
    report_failures(res.failures, where=out / "failures.csv")
    return 1 if res.failures else 0
