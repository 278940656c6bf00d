"""Argument helpers shared by subcommands."""

from __future__ import annotations


def add_feature_args(p, *, default: str | None = "mel,hpss") -> None:
    g = p.add_argument_group("features")
    g.add_argument("--features", default=default,
                   help="comma-separated channels: stft, mel, hpss, mfcc, cqt, chroma_stft, "
                        "chroma_cqt (default: %(default)s)")
    g.add_argument("--sr", type=int, default=22050, help="sample rate in Hz (default 22050)")
    g.add_argument("--n-fft", type=int, default=2048)
    g.add_argument("--hop-length", type=int, default=512)
    g.add_argument("--n-mels", type=int, default=128)
    g.add_argument("--n-mfcc", type=int, default=20)
    g.add_argument("--mfcc-deltas", action="store_true", help="add delta and delta-delta MFCCs")


def spec_from_args(args):
    from ..features import FeatureSpec

    return FeatureSpec(names=args.features, sr=args.sr, n_fft=args.n_fft,
                       hop_length=args.hop_length, n_mels=args.n_mels, n_mfcc=args.n_mfcc,
                       mfcc_deltas=args.mfcc_deltas)


def selected_catalog(data, *, split=None, subset=None, audio_dir=None):
    """The catalog at ``data``, restricted to the files of a split list (``split``) or to
    one of its own splits (``subset``) when given."""
    from ..data.manifest import apply_split_lists, load_catalog

    cat = load_catalog(data, audio_dir=audio_dir)
    if split:
        return apply_split_lists(cat, {"selected": split}).subset("selected")
    return cat.subset(subset) if subset else cat
