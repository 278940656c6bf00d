"""``genrekit predict FILES|DIRS... [--model PATH] [--top-k 3] [--timeline]
[--format table|json|csv|zalo] [--out FILE]``."""

from __future__ import annotations

import sys

from .common import (
    add_cache_arg,
    add_max_duration_arg,
    add_model_args,
    add_open_set_args,
    check_outputs,
    in_range,
    open_set_kwargs,
    report,
    warn_open_set,
)


def add_arguments(p) -> None:
    p.add_argument("inputs", nargs="+", metavar="FILE|DIR", help="audio files or folders")
    add_model_args(p)
    add_open_set_args(p)
    p.add_argument("--explain", action="store_true",
                   help="also the 3 songs the model learned from that are most like each "
                        "song, with their genre and similarity (no audio needed)")
    add_max_duration_arg(p, help="analyse at most the first this-many seconds of each file, "
                         ">= 0 (default %(default)s; 0: whole files, an hour-long mix too: "
                         "long files run block by block in bounded memory)")
    p.add_argument("--timeline", action="store_true",
                   help="show per-slice labels over time (table) / include them (json)")
    p.add_argument("--timeline-png", help="also draw the per-slice probabilities to this PNG")
    p.add_argument("--format", choices=["table", "json", "csv", "zalo"], default=None,
                   help="table (default), json, csv or zalo; --engine ray writes Parquet")
    p.add_argument("--out", help="write the result here instead of standard output (with "
                   "--engine ray: the Parquet folder, required)")
    from .preprocess import add_engine_args

    add_engine_args(p)
    p.add_argument("--actors", type=in_range(int, lo=1), default=1,
                   help="with --engine ray: model actors (one GPU each with --device cuda)")
    add_cache_arg(p, help="with --engine ray: the feature cache (shared storage on a "
                          "cluster; default: the user cache folder)")


def predict_paths(clf, paths, *, top_k: int = 3, jobs: int = 1):
    """Run the classifier over ``paths`` with a progress bar; returns (results, errors)."""
    from ..ui import file_progress

    results, errors = [], []
    with file_progress(len(paths), "predicting") as advance:
        for path, pred, err in clf.predict_many(paths, top_k=top_k, jobs=jobs,
                                                progress=advance):
            if err:
                errors.append((path, err))
            else:
                results.append(pred)
    return results, errors


def run(args) -> int:
    from pathlib import Path

    from ..data.manifest import scan_audio
    from ..errors import ParameterError
    from ..inference.classifier import load_classifier
    from . import predict_formats as fmt

    check_outputs(("--out", args.out, args.engine == "ray"),
                  ("--timeline-png", args.timeline_png, False),
                  ("--cache-dir", args.cache_dir if args.engine == "ray" else None, True))
    cat = scan_audio(args.inputs)
    paths = [t.path for t in cat]
    if not paths and not cat.missing:
        raise ParameterError(f"no audio files found in {', '.join(args.inputs)}")
    if args.engine == "ray":
        return run_ray(paths, cat.missing, args)
    clf = load_classifier(args.model, device=args.device, aggregate=args.aggregate,
                          precision=args.precision, tta=args.tta, explain=args.explain,
                          max_duration=args.max_duration or None, **open_set_kwargs(args))
    warn_open_set(clf)
    results, errors = (predict_paths(clf, paths, top_k=args.top_k, jobs=args.jobs)
                       if paths else ([], []))
    errors = [(str(p), r) for p, r in cat.missing] + errors
    text = {"table": fmt.table, "json": fmt.to_json, "csv": fmt.to_csv,
            "zalo": fmt.to_zalo}[args.format or "table"](results, errors, clf,
                                                          timeline=args.timeline)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {len(results)} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.timeline_png and results:
        from ..inference.plots import plot_timelines

        plot_timelines(results, args.timeline_png, classes=clf.classes_)
        print(f"wrote {args.timeline_png}", file=sys.stderr)
    for path, reason in errors:
        report("error", path, reason)
    return 1 if errors else 0


def run_ray(paths, missing, args) -> int:
    """``--engine ray``: one Parquet row per song in the folder ``--out`` (see
    ``genrekit.engine.ray``); songs already there are skipped."""
    from ..engine.ray import predict_ray
    from ..errors import ParameterError
    from ..inference.classifier import load_classifier

    if not args.out:
        raise ParameterError("--engine ray writes a Parquet folder: pass --out DIR")
    if args.format not in (None, "parquet"):
        raise ParameterError(f"--engine ray writes Parquet, not {args.format}: drop --format "
                             "(or use --engine local for table/json/csv/zalo)")
    if args.tta:
        raise ParameterError("--tta is not available with --engine ray")
    from ..audio import DEFAULT_MAX_DURATION

    if args.max_duration != DEFAULT_MAX_DURATION:
        raise ParameterError("--max-duration is not available with --engine ray (it reads "
                             f"the first {DEFAULT_MAX_DURATION:g} s of each file)")
    if args.timeline_png:
        raise ParameterError("--timeline-png is not available with --engine ray (the "
                             "timelines are in the Parquet rows)")
    # the bundled file from_pretrained picks
    model = args.model or load_classifier(device=args.device,
                                          precision=args.precision).source
    counts = predict_ray(paths, model, args.out, address=args.address, num_cpus=args.jobs,
                         actors=args.actors, device=args.device, cache_dir=args.cache_dir,
                         top_k=args.top_k, aggregate=args.aggregate, verbose=args.verbose)
    for path, reason in missing:
        report("error", path, reason)
    print(f"{counts['predicted']} predicted, {counts['failed']} failed (rows with an error), "
          f"{counts['skipped']} already in {args.out}", file=sys.stderr)
    return 1 if (counts["failed"] or missing) else 0
