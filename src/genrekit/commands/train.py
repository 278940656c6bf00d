"""``genrekit train DATA --features mel,hpss --model cnn --out runs/NAME``."""

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
    p.add_argument("data", help="a folder per genre or a CSV catalog (file,label[,artist])")
    p.add_argument("--out", required=True, help="run folder (checkpoints, metrics, curves)")
    p.add_argument("--config", help="YAML config (sections: features, slices, model, train)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.lr=3e-4 (repeatable)")
    p.add_argument("--features", help="feature channels, e.g. mel,hpss (features.names)")
    p.add_argument("--arch", "--model", dest="arch", metavar="NAME",
                   help="architecture (model.name): cnn, crnn, resnet18, resnet34, musicnn, "
                        "tiny (--model is the old spelling of this option; in predict, serve "
                        "and tag --model is a model file)")
    p.add_argument("--epochs", type=in_range(int, lo=1), help=">= 1 (train.epochs)")
    p.add_argument("--device", help="auto, cpu, cuda (train.device)")
    add_cache_arg(p, default=None, help="feature cache folder (train.cache_dir)")
    add_jobs_arg(p, default=None, help="feature worker processes (train.jobs)")
    add_audio_dir_arg(p)
    p.add_argument("--train-split", help="list of training files (one relative path a line)")
    p.add_argument("--valid-split", help="list of validation files")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--nproc", type=in_range(int, lo=1), default=1,
                   help="data-parallel processes (torch DDP via torchrun: gloo on CPU, one "
                   "GPU each with CUDA); the run equals a one-process run of the same batch")


def build_config(args):
    from ..config import load_config

    sets = list(args.set)
    for opt, key in (("features", "features.names"), ("arch", "model.name"),
                     ("epochs", "train.epochs"), ("device", "train.device"),
                     ("cache_dir", "train.cache_dir"), ("jobs", "train.jobs")):
        v = getattr(args, opt)
        if v is not None:
            sets.insert(0, f"{key}={'[' + v + ']' if opt == 'features' else v}")
    return load_config(args.config, sets)


def load_labelled_catalog(data, audio_dir=None, train_split=None, valid_split=None, *,
                          on_conflict: str = "error"):
    from ..data.manifest import apply_split_lists, load_catalog
    from .common import report_notes

    cat = load_catalog(data, audio_dir=audio_dir, on_conflict=on_conflict)
    report_notes(cat)
    lists = {k: v for k, v in (("train", train_split), ("valid", valid_split)) if v}
    return apply_split_lists(cat, lists) if lists else cat


def run(args) -> int:
    import os
    import sys
    from pathlib import Path

    from ..training import distributed
    from ..training.trainer import train
    from ..ui import TrainProgress, console

    cfg = build_config(args)
    out = Path(args.out)
    check_outputs(("--out", out, True), ("--cache-dir", cfg.train.cache_dir, True))
    if (out / "last.pt").exists() and not args.resume and not distributed.launched():
        print(f"genrekit train: {out} already holds a run; pass --resume to continue it or "
              "choose another --out", file=sys.stderr)
        return 2
    distributed.check(cfg.train, args.nproc)
    if args.nproc > 1 and not distributed.launched():
        return distributed.launch(distributed.strip_option(args._argv, "--nproc"), args.nproc)
    cat = load_labelled_catalog(args.data, args.audio_dir, args.train_split, args.valid_split,
                                on_conflict=args.on_conflict)
    con = console()
    for entry, reason in cat.missing:
        con.print(f"[yellow]skipped[/] {entry}: {reason}")
    with TrainProgress(con) as ui:
        res = train(cfg, cat, out, resume=args.resume, callbacks=ui)
    if os.environ.get("RANK", "0") != "0":  # one report per run, from rank 0
        return 1 if res.failures else 0
    report_failures(res.failures, where=out / "failures.csv")
    b = res.best
    if b:
        print(f"best epoch {b['epoch']}: valid per-song accuracy {b['valid_accuracy']:.3f}, "
              f"macro-F1 {b['valid_macro_f1']:.3f} (per-slice accuracy "
              f"{b['valid_slice_accuracy']:.3f}) -> {res.best_path}")
    return 1 if res.failures else 0
