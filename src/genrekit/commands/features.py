"""``genrekit features FILE --features mel,hpss --png out.png --out feats.npz``."""

from __future__ import annotations

from .common import add_feature_args, check_outputs, in_range, spec_from_args

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("train",)


def add_arguments(p) -> None:
    p.add_argument("file", help="audio file")
    add_feature_args(p)
    p.add_argument("--png", help="write a picture of the channels here")
    p.add_argument("--png-mode", choices=["color", "grayscale"], default="color",
                   help="labelled panels with colour bars, or a plain grayscale image")
    p.add_argument("--out", help="write the arrays (features, channel names, spec) as .npz")
    p.add_argument("--offset", type=in_range(float, lo=0), default=0.0,
                   help="start time in seconds, >= 0")
    p.add_argument("--duration", type=in_range(float, lo=0, lo_open=True), default=None,
                   help="seconds to read, > 0")


def run(args) -> int:
    import json
    from pathlib import Path

    import numpy as np

    from ..audio import load_audio
    from ..features import compute_features
    from ..features.plot import plot_features

    spec = spec_from_args(args)
    check_outputs(("--out", args.out, False), ("--png", args.png, False))
    y, sr = load_audio(args.file, sr=spec.sr, offset=args.offset, duration=args.duration)
    X = compute_features(y, sr, spec)
    print(f"{args.file}: {len(y) / sr:.2f} s at {sr} Hz -> features {list(X.shape)} "
          f"[{', '.join(spec.channel_names)}]")
    if args.png:
        plot_features(X, spec, args.png, title=Path(args.file).name, mode=args.png_mode)
        print(f"wrote {args.png}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out, features=X, channels=np.array(spec.channel_names),
                            spec=json.dumps(spec.to_dict()))
        print(f"wrote {args.out}")
    return 0
