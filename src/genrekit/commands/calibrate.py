"""``genrekit calibrate CHECKPOINT DATA [--split FILE | --subset valid] --out FILE``:
temperature scaling fitted on labelled (validation) songs; prints ECE before and after."""

from __future__ import annotations

from .common import (
    add_cache_arg,
    add_catalog_selection,
    check_outputs,
    report_failures,
    selected_catalog,
)

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("train",)


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint")
    p.add_argument("data", help="labelled catalog (use validation songs, never training ones)")
    add_catalog_selection(p)
    p.add_argument("--out", required=True, help="the calibrated checkpoint (.pt)")
    add_cache_arg(p)


def run(args) -> int:
    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..errors import ParameterError
    from ..features.spec import FeatureSpec
    from ..training.calibrate import calibrate
    from ..training.songs import load_songs

    check_outputs(("--out", args.out, False))
    ckpt = load_checkpoint(args.checkpoint)
    cat = selected_catalog(args.data, split=args.split, subset=args.subset,
                           audio_dir=args.audio_dir, on_conflict=args.on_conflict)
    classes = list(ckpt["classes"])
    tracks = [t for t in cat if t.label in classes]
    if not tracks:
        raise ParameterError("no labelled songs with the model's classes to calibrate on")
    songs, failures = load_songs(tracks, classes, FeatureSpec.from_dict(ckpt["features"]),
                                 args.cache_dir)
    if not len(songs):
        from ..errors import UnreadableDataError

        raise UnreadableDataError(f"none of the {len(tracks)} songs could be read to "
                                  "calibrate on", failures)
    out, rep = calibrate(ckpt, args.checkpoint, songs)
    save_checkpoint(args.out, out)
    print(f"temperature {rep['temperature']:.3f} fitted on {rep['songs']} songs "
          f"({rep['slices']} slices); ECE per slice {rep['slice_ece_before']:.3f} -> "
          f"{rep['slice_ece_after']:.3f}, per song {rep['song_ece_before']:.3f} -> "
          f"{rep['song_ece_after']:.3f}; wrote {args.out}")
    report_failures(failures)
    return 1 if failures else 0
