"""Argument builders shared by subcommands: each option is declared once, its choices come
from the registries and its defaults from the library (FeatureSpec, the decode policy)."""

from __future__ import annotations

JOBS_HELP = "worker processes for decoding and features (default 1)"


def add_feature_args(p, *, default: str | None = "mel,hpss") -> None:
    from ..features.registry import list_features
    from ..features.spec import FeatureSpec

    d = FeatureSpec()
    g = p.add_argument_group("features")
    g.add_argument("--features", default=default,
                   help=f"comma-separated channels: {', '.join(list_features())} "
                        "(default: %(default)s)")
    g.add_argument("--sr", type=int, default=d.sr, help="sample rate in Hz (default %(default)s)")
    g.add_argument("--n-fft", type=int, default=d.n_fft, help="default %(default)s")
    g.add_argument("--hop-length", type=int, default=d.hop_length, help="default %(default)s")
    g.add_argument("--n-mels", type=int, default=d.n_mels, help="default %(default)s")
    g.add_argument("--n-mfcc", type=int, default=d.n_mfcc, help="default %(default)s")
    g.add_argument("--mfcc-deltas", action="store_true", help="add delta and delta-delta MFCCs")


def spec_from_args(args):
    from ..features import FeatureSpec

    return FeatureSpec(names=args.features, sr=args.sr, n_fft=args.n_fft,
                       hop_length=args.hop_length, n_mels=args.n_mels, n_mfcc=args.n_mfcc,
                       mfcc_deltas=args.mfcc_deltas)


def add_jobs_arg(p, *, default: int | None = 1, help: str = JOBS_HELP) -> None:
    p.add_argument("--jobs", "-j", type=int, default=default, help=help)


def add_cache_arg(p, *, default: str | None = "cache",
                  help: str = "feature cache folder (default ./cache)") -> None:
    p.add_argument("--cache-dir", default=default, help=help)


def add_audio_dir_arg(p) -> None:
    p.add_argument("--audio-dir", help="audio folder for a CSV catalog (default: its folder)")


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
    p.add_argument("--top-k", type=int, default=3, help="how many genres to list (default 3)")
    add_aggregate_arg(p, help="slice -> song rule (default: the model's, normally confidence: "
                              "a mean of slice probabilities weighted by each slice's "
                              "confidence)")
    add_jobs_arg(p)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--tta", type=int, default=0, metavar="N",
                   help="test-time augmentation: also average over pitch shifts of 1..N mel "
                        "bins up and down (N=1: 3x the model work)")


def selected_catalog(data, *, split=None, subset=None, audio_dir=None):
    """The catalog at ``data``, restricted to the files of a split list (``split``) or to
    one of its own splits (``subset``) when given."""
    from ..data.manifest import apply_split_lists, load_catalog

    cat = load_catalog(data, audio_dir=audio_dir)
    if split:
        return apply_split_lists(cat, {"selected": split}).subset("selected")
    return cat.subset(subset) if subset else cat


def report(kind: str, path, reason, *, file=None) -> None:
    """``kind: path: reason`` as exactly one line on standard error (or ``file``): control
    characters in a file name or a decoder's message (a newline, say) are escaped, so
    every bad input is one line a script can read."""
    import sys

    print(f"{kind}: {one_line(path)}: {one_line(reason)}",
          file=sys.stderr if file is None else file)


def one_line(text) -> str:
    import re

    return re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], str(text))
