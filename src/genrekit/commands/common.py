"""Argument builders shared by subcommands: each option is declared once, its choices come
from the registries and its defaults from the library (FeatureSpec, the decode policy)."""

from __future__ import annotations

from ..ui import one_line  # noqa: F401 - re-exported: report's and the tables' escaping

JOBS_HELP = "worker processes for decoding and features (default 1)"


def in_range(kind=float, *, lo=None, hi=None, lo_open: bool = False, hi_open: bool = False):
    """An argparse ``type`` for a number in a range: ``in_range(float, lo=0, hi=1,
    lo_open=True)`` accepts (0, 1]. A value outside is a usage error naming the range
    (exit 2); ``range_text`` of the returned function is the range for ``--help``."""
    import argparse
    import math

    text = (("(" if lo_open else "[") + ("-inf" if lo is None else f"{lo:g}") + ", "
            + ("inf" if hi is None else f"{hi:g}") + (")" if hi_open else "]"))

    def convert(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}"
                                             f": {value!r}") from None
        bad = (isinstance(v, float) and not math.isfinite(v)) or (
            lo is not None and (v < lo or (lo_open and v == lo))) or (
            hi is not None and (v > hi or (hi_open and v == hi)))
        if bad:
            raise argparse.ArgumentTypeError(f"must be in {text}, got {value}")
        return v

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    convert.range_text = text
    convert.bounds = (kind, lo, hi, lo_open, hi_open)  # for the parser walk test
    return convert


UNIT = in_range(float, lo=0, hi=1)


def add_open_set_args(p) -> None:
    """``--novelty-threshold``, ``--min-confidence``, ``--set``: when a song is "unknown",
    and its prediction set (see ``genrekit.inference.open_set``)."""
    g = p.add_argument_group("unknown songs and prediction sets")
    g.add_argument("--novelty-threshold", type=in_range(float, lo=0, hi=1, lo_open=True),
                   metavar="N", help="label a song 'unknown' when its novelty (0..1: the share "
                   "of held-out songs of the model's own genres that were less unusual) is "
                   "above N; in (0, 1], 1 turns it off (default: the model's, 0.95)")
    g.add_argument("--min-confidence", type=in_range(float, lo=0, hi=1, hi_open=True),
                   metavar="P", help="label a song 'unknown' when its top probability is "
                   "below P; in [0, 1), 0 turns it off (default: the model's)")
    g.add_argument("--set", type=in_range(float, lo=0, hi=1, lo_open=True, hi_open=True),
                   dest="set_level", metavar="LEVEL",
                   help="also give each song's prediction set: the fewest genres that hold "
                   "the true one with probability LEVEL, in (0, 1), e.g. 0.9")


def open_set_kwargs(args) -> dict:
    return {"novelty_threshold": getattr(args, "novelty_threshold", None),
            "min_confidence": getattr(args, "min_confidence", None),
            "set_level": getattr(args, "set_level", None)}


def warn_open_set(clf) -> None:
    """One line when the model cannot say "unknown" (no novelty model)."""
    if getattr(clf, "open_set", None) is None and getattr(clf, "open_set_missing", None):
        from pathlib import Path

        report("warning", Path(clf.source).name,
               f"{clf.open_set_missing}; novelty is empty and no song is labelled unknown")


def add_feature_args(p, *, default: str | None = "mel,hpss") -> None:
    from ..features.registry import list_features
    from ..features.spec import FeatureSpec

    d = FeatureSpec()
    g = p.add_argument_group("features")
    g.add_argument("--features", default=default,
                   help=f"comma-separated channels: {', '.join(list_features())} "
                        "(default: %(default)s)")
    g.add_argument("--sr", type=in_range(int, lo=1000), default=d.sr,
                   help="sample rate in Hz, >= 1000 (default %(default)s)")
    g.add_argument("--n-fft", type=in_range(int, lo=16), default=d.n_fft,
                   help=">= 16 (default %(default)s)")
    g.add_argument("--hop-length", type=in_range(int, lo=1), default=d.hop_length,
                   help=">= 1 (default %(default)s)")
    g.add_argument("--n-mels", type=in_range(int, lo=1), default=d.n_mels,
                   help=">= 1 (default %(default)s)")
    g.add_argument("--n-mfcc", type=in_range(int, lo=1), default=d.n_mfcc,
                   help=">= 1 (default %(default)s)")
    g.add_argument("--mfcc-deltas", action="store_true", help="add delta and delta-delta MFCCs")


def spec_from_args(args):
    from ..features import FeatureSpec

    return FeatureSpec(names=args.features, sr=args.sr, n_fft=args.n_fft,
                       hop_length=args.hop_length, n_mels=args.n_mels, n_mfcc=args.n_mfcc,
                       mfcc_deltas=args.mfcc_deltas)


def add_jobs_arg(p, *, default: int | None = 1, help: str = JOBS_HELP) -> None:
    p.add_argument("--jobs", "-j", type=in_range(int, lo=1), default=default, help=help)


def add_max_duration_arg(p, *, help: str = "decode at most this many seconds of each "
                         "file, >= 0 (default %(default)s; 0: whole files)") -> None:
    from ..audio import DEFAULT_MAX_DURATION

    p.add_argument("--max-duration", type=in_range(float, lo=0), default=DEFAULT_MAX_DURATION,
                   help=help)


def add_embedding_args(p, *, model_help: str = "the model whose embeddings are compared "
                       "(default: the bundled one; its genres are never used)") -> None:
    """``--model``, ``--cache-dir`` and ``--jobs`` of the commands that compare songs by
    their embeddings (suggest, teach, audit)."""
    add_model_file_arg(p, help=model_help)
    add_cache_arg(p, help="where song embeddings are kept (default: the user cache folder; "
                          "genrekit info shows it)")
    add_jobs_arg(p)


def add_cache_arg(p, *, default: str | None = "user",
                  help: str = "feature cache folder (default: the user cache folder, "
                              "~/.cache/genrekit on Linux; genrekit info shows it)") -> None:
    """``--cache-dir``; ``default="user"``: the user cache folder (``paths.cache_dir``)."""
    if default == "user":
        from ..paths import default_cache

        default = default_cache()
    p.add_argument("--cache-dir", default=default, help=help)


def add_audio_dir_arg(p) -> None:
    """``--audio-dir`` and ``--on-conflict``: how a catalog is read."""
    p.add_argument("--audio-dir", help="audio folder for a CSV catalog (default: its folder)")
    p.add_argument("--on-conflict", choices=["error", "first", "drop"], default="error",
                   help="one file listed twice with different labels (or splits, artists): "
                        "error (default: both rows named, nothing done), first (keep the "
                        "first row), drop (leave the file out); identical rows are merged")


def add_catalog_selection(p, *, what: str = "") -> None:
    """``--split FILE | --subset NAME`` and ``--audio-dir`` of a labelled catalog."""
    p.add_argument("--split", help=f"{what}only the files in this list (one a line)")
    p.add_argument("--subset", choices=["train", "valid", "test"], default=None,
                   help=f"{what}only this split of the catalog")
    add_audio_dir_arg(p)


def add_aggregate_arg(p, *, help: str) -> None:
    from ..inference.aggregate import RULES

    p.add_argument("--aggregate", choices=list(RULES), help=help)


def add_model_file_arg(p, *, help: str = "checkpoint (.pt, an ensemble too) or ONNX export "
                                         "(.onnx); default: the bundled model") -> None:
    p.add_argument("--model", metavar="FILE", help=help)
    p.add_argument("--precision", choices=["auto", "int8", "float"], default="auto",
                   help="the bundled model's ONNX graph: float, int8 (a quantised graph, "
                        "where one ships; none does with the default v3, which runs as fast "
                        "in float), or auto (default: int8 where one ships and the CPU has "
                        "VNNI, else float)")


def add_model_args(p) -> None:
    """The options of every command that predicts with a model file."""
    add_model_file_arg(p)
    p.add_argument("--top-k", type=in_range(int, lo=1), default=3,
                   help="how many genres to list, >= 1 (default 3)")
    add_aggregate_arg(p, help="slice -> song rule (default: the model's, normally confidence: "
                              "a mean of slice probabilities weighted by each slice's "
                              "confidence)")
    add_jobs_arg(p)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--tta", type=in_range(int, lo=0), default=0, metavar="N",
                   help="test-time augmentation: also average over pitch shifts of 1..N mel "
                        "bins up and down (N=1: 3x the model work)")


def selected_catalog(data, *, split=None, subset=None, audio_dir=None,
                     on_conflict: str = "error"):
    """The catalog at ``data``, restricted to the files of a split list (``split``) or to
    one of its own splits (``subset``) when given; its notes (merged rows) are reported."""
    from ..data.manifest import apply_split_lists, load_catalog

    cat = load_catalog(data, audio_dir=audio_dir, on_conflict=on_conflict)
    report_notes(cat)
    if split:
        return apply_split_lists(cat, {"selected": split}).subset("selected")
    return cat.subset(subset) if subset else cat


#: per-file lines printed before "... and N more"
REPORT_CAP = 20


def report_failures(failures, kind: str = "failed", *, cap: int = REPORT_CAP,
                    where=None) -> None:
    """``kind: file: reason`` for each of the first ``cap`` failures, then one line with how
    many more (and ``where`` they all are, a CSV, when given)."""
    failures = list(failures)
    for path, reason in failures[:cap]:
        report(kind, path, reason)
    if len(failures) > cap:
        import sys

        print(f"{kind}: ... and {len(failures) - cap} more"
              + (f" (all {len(failures)} in {where})" if where else ""), file=sys.stderr)


def check_outputs(*outputs) -> None:
    """Each ``(option, path, folder)`` whose path is given must be writable, checked before
    any work: else one ``ParameterError`` naming the option, the path and why (exit 2)."""
    from ..errors import ParameterError
    from ..fileio import unwritable

    for option, path, folder in outputs:
        if path is not None and (why := unwritable(path, folder=folder)):
            raise ParameterError(f"{option} {path}: {why}")


def report_notes(cat) -> None:
    """A catalog's notes (merged duplicate rows, conflicts resolved by --on-conflict), one
    line each."""
    for entry, note in getattr(cat, "notes", []):
        report("note", entry, note)


def report(kind: str, path, reason, *, file=None) -> None:
    """``kind: path: reason`` as exactly one line on standard error (or ``file``): control
    characters in a file name or a decoder's message (a newline, say) are escaped, so
    every bad input is one line a script can read."""
    import sys

    print(f"{kind}: {one_line(path)}: {one_line(reason)}",
          file=sys.stderr if file is None else file)




def add_guard_args(p, *, token_choice: bool) -> None:
    """``--allow-host`` (and, where the server may go without one, ``--token``): what a
    local server answers besides its own page (``serve.guard``)."""
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a further Host name to answer (repeatable; e.g. the machine's name "
                        "on your network). Without it, a server on 127.0.0.1 answers only "
                        "localhost, 127.0.0.1 and [::1] (no DNS rebinding)")
    if token_choice:
        p.add_argument("--token", default="auto", metavar="auto|none|TOKEN",
                       help="what API requests must carry (Authorization: Bearer TOKEN, or the "
                            "page's cookie from the printed URL): auto (default) = a fresh "
                            "token on a loopback --host, none on any other (a public API: "
                            "put your own authentication in front); none; or your TOKEN")


def build_guard(args, *, json_paths: tuple[str, ...] = ()):
    """The ``serve.guard.Guard`` of a server command's arguments (a command without
    ``--token``, teach, always has one)."""
    from ..serve.guard import Guard, is_loopback, new_token

    token = getattr(args, "token", "auto")
    if token == "auto":
        token = new_token() if is_loopback(args.host) else None
    elif token == "none":
        token = None
    return Guard.for_bind(args.host, token=token, extra_hosts=args.allow_host,
                          json_paths=json_paths)
