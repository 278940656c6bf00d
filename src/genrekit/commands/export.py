"""``genrekit export CHECKPOINT --format onnx --out model.onnx``."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint (e.g. runs/NAME/best.pt)")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--out", required=True, help="output file, e.g. model.onnx")
    p.add_argument("--opset", type=int, default=17)


def run(args) -> int:
    from ..errors import ConfigError

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ConfigError("genrekit export needs the onnx extra: "
                          "pip install 'genrekit[onnx]'") from None
    from ..export import export_onnx

    out = export_onnx(args.checkpoint, args.out, opset=args.opset)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); use it with "
          f"`genrekit predict --model {out}` (onnxruntime, no torch needed)")
    return 0
