"""``genrekit preprocess DATA --features mel,hpss --jobs N --cache-dir DIR``."""

from __future__ import annotations

import sys

from ..audio import DEFAULT_MIN_DURATION
from ..features.registry import BACKEND_NAMES
from .common import (
    add_audio_dir_arg,
    add_cache_arg,
    add_feature_args,
    add_jobs_arg,
    add_max_duration_arg,
    check_outputs,
    in_range,
    report,
    spec_from_args,
)

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("train",)


def add_arguments(p) -> None:
    p.add_argument("data", nargs="+",
                   help="folder(s) of audio (any layout), a folder per genre, or a CSV catalog")
    add_feature_args(p)
    add_jobs_arg(p)
    add_cache_arg(p)
    p.add_argument("--failures", help="failures CSV (default CACHE_DIR/failures.csv)")
    p.add_argument("--min-duration", type=in_range(float, lo=0), default=DEFAULT_MIN_DURATION,
                   help="refuse files shorter than this many seconds, >= 0 "
                        "(default %(default)s)")
    add_max_duration_arg(p)
    add_audio_dir_arg(p)
    p.add_argument("--backend", choices=list(BACKEND_NAMES), default=None,
                   help="feature backend (default fast; each has its own cache entries)")
    p.add_argument("--device", default=None,
                   help="with --backend torch: compute features in batches on this device "
                   "(cuda, cuda:1, auto = a GPU if there is one) while --jobs workers decode")
    add_engine_args(p)


def add_engine_args(p) -> None:
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: a process pool on this machine (default); ray: Ray Data tasks "
                   "on a Ray cluster (pip install 'genrekit[ray]')")
    p.add_argument("--address", help="with --engine ray: the Ray cluster to join (e.g. "
                   "ray://head:10001 or auto); default: a local cluster of --jobs CPUs")
    p.add_argument("--verbose", action="store_true",
                   help="with --engine ray: show Ray's own log lines")


def collect_paths(data: list[str], audio_dir=None, on_conflict: str = "error"):
    """Audio paths from CSV catalogs, labelled folders or plain folders/files."""
    from pathlib import Path

    from ..data.manifest import load_catalog, scan_audio

    paths, missing = [], []
    for d in data:
        if Path(d).suffix.lower() in (".csv", ".tsv"):
            cat = load_catalog(d, audio_dir=audio_dir, on_conflict=on_conflict)
        else:
            cat = scan_audio([d])
        paths += [t.path for t in cat]
        missing += cat.missing
    return paths, missing


def run(args) -> int:
    from pathlib import Path

    from ..engine.local import preprocess, write_failures
    from ..errors import ParameterError
    from ..ui import file_progress

    spec = spec_from_args(args)
    check_outputs(("--cache-dir", args.cache_dir, True), ("--failures", args.failures, False))
    paths, missing = collect_paths(args.data, args.audio_dir, args.on_conflict)
    if not paths and not missing:
        raise ParameterError(f"no audio files found in {', '.join(args.data)}")
    kw = dict(min_duration=args.min_duration, max_duration=args.max_duration or None,
              backend=args.backend)
    if args.device is not None:
        if args.engine == "ray":
            raise ParameterError("--device is for --engine local (Ray tasks compute "
                                 "features on their own CPUs)")
        kw["device"] = args.device
    if args.engine == "ray":  # connect (or start the local cluster) before the progress bar
        from ..engine.ray import init

        init(args.address, args.jobs, verbose=args.verbose)
    with file_progress(len(paths), f"features ({','.join(spec.names)})") as advance:
        if args.engine == "ray":
            from ..engine.ray import preprocess_ray

            res = preprocess_ray(paths, spec, args.cache_dir, address=args.address,
                                 num_cpus=args.jobs, progress=advance, verbose=args.verbose,
                                 **kw)
        else:
            res = preprocess(paths, spec, args.cache_dir, jobs=args.jobs, progress=advance,
                                **kw)
    failures = [(str(e), r) for e, r in missing] + res.failures
    failures_csv = Path(args.failures or Path(args.cache_dir) / "failures.csv")
    from ..errors import EngineError

    try:
        write_failures(failures_csv, failures)
        unwritten = None
    except EngineError as exc:  # a full disk: the list still reaches the terminal
        unwritten = str(exc)
    print(f"{res.total} files: {res.computed} computed, {res.cached} already cached, "
          f"{len(failures)} failed; cache: {args.cache_dir}")
    if failures:
        for f, reason in failures:
            report("failed", f, reason)
        if not unwritten:
            print(f"failures listed in {failures_csv}", file=sys.stderr)
    if unwritten:
        print(f"genrekit preprocess: error: {unwritten}", file=sys.stderr)
    return 1 if failures or unwritten else 0
