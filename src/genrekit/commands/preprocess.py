"""``genrekit preprocess DATA --features mel,hpss --jobs N --cache-dir DIR``."""

from __future__ import annotations

import sys

from .common import add_feature_args, spec_from_args


def add_arguments(p) -> None:
    p.add_argument("data", nargs="+",
                   help="folder(s) of audio (any layout), a folder per genre, or a CSV catalog")
    add_feature_args(p)
    p.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--cache-dir", default="cache", help="feature cache folder (default ./cache)")
    p.add_argument("--failures", help="failures CSV (default CACHE_DIR/failures.csv)")
    p.add_argument("--min-duration", type=float, default=None,
                   help="refuse files shorter than this many seconds (default 1.0)")
    p.add_argument("--max-duration", type=float, default=None,
                   help="decode at most this many seconds of each file (default 600)")
    p.add_argument("--audio-dir", help="audio folder for a CSV catalog (default: its folder)")
    p.add_argument("--backend", choices=["fast", "reference", "torch"], default=None,
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


def collect_paths(data: list[str], audio_dir=None):
    """Audio paths from CSV catalogs, labelled folders or plain folders/files."""
    from pathlib import Path

    from ..data.manifest import load_catalog, scan_audio

    paths, missing = [], []
    for d in data:
        if Path(d).suffix.lower() in (".csv", ".tsv"):
            cat = load_catalog(d, audio_dir=audio_dir)
        else:
            cat = scan_audio([d])
        paths += [t.path for t in cat]
        missing += cat.missing
    return paths, missing


def run(args) -> int:
    from pathlib import Path

    from .. import preprocess as pp
    from ..ui import console, file_progress

    spec = spec_from_args(args)
    paths, missing = collect_paths(args.data, args.audio_dir)
    con = console()
    if not paths and not missing:
        con.print(f"no audio files found in {', '.join(args.data)}")
        return 1
    min_d = pp.DEFAULT_MIN_DURATION if args.min_duration is None else args.min_duration
    max_d = pp.DEFAULT_MAX_DURATION if args.max_duration is None else args.max_duration
    kw = dict(min_duration=min_d, max_duration=max_d or None, backend=args.backend)
    if args.device is not None:
        if args.engine == "ray":
            from ..errors import ParameterError

            raise ParameterError("--device is for --engine local (Ray tasks compute "
                                 "features on their own CPUs)")
        kw["device"] = args.device
    if args.engine == "ray":  # connect (or start the local cluster) before the progress bar
        from ..ray_engine import init

        init(args.address, args.jobs)
    with file_progress(len(paths), f"features ({','.join(spec.names)})") as advance:
        if args.engine == "ray":
            from ..ray_engine import preprocess_ray

            res = preprocess_ray(paths, spec, args.cache_dir, address=args.address,
                                 num_cpus=args.jobs, progress=advance, **kw)
        else:
            res = pp.preprocess(paths, spec, args.cache_dir, jobs=args.jobs, progress=advance,
                                **kw)
    failures = [(str(e), r) for e, r in missing] + res.failures
    failures_csv = Path(args.failures or Path(args.cache_dir) / "failures.csv")
    pp.write_failures(failures_csv, failures)
    print(f"{res.total} files: {res.computed} computed, {res.cached} already cached, "
          f"{len(failures)} failed; cache: {args.cache_dir}")
    if failures:
        for f, reason in failures:
            print(f"failed: {f}: {reason}", file=sys.stderr)
        print(f"failures listed in {failures_csv}", file=sys.stderr)
        return 1
    return 0
