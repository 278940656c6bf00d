"""``genrekit export CHECKPOINT --out model.onnx [--quantize int8 --calibrate DATA]``."""

from __future__ import annotations

from .common import check_outputs, in_range

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("export",)


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint (e.g. runs/NAME/best.pt)")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--out", required=True, help="output file, e.g. model.onnx")
    p.add_argument("--opset", type=in_range(int, lo=7), default=17,
                   help="ONNX opset, >= 7 (default 17)")
    p.add_argument("--quantize", choices=["int8"], default=None,
                   help="also write OUT's int8 version (NAME.int8.onnx): the convolutions "
                        "that carry the model's work in int8, calibrated on --calibrate")
    p.add_argument("--calibrate", metavar="DATA",
                   help="with --quantize: audio of the kind the model will see (a folder, a "
                        "folder per genre or a CSV catalog; its training songs are best)")
    p.add_argument("--calibration-slices", type=in_range(int, lo=1), default=512,
                   help="slices drawn evenly from --calibrate's songs, >= 1 (default 512)")


def run(args) -> int:
    from pathlib import Path

    from ..errors import ParameterError
    from ..export import export_onnx

    check_outputs(("--out", args.out, False))
    if args.quantize and not args.calibrate:
        raise ParameterError("--quantize int8 needs --calibrate DATA: int8 ranges are "
                             "measured on real features, never guessed")
    out = export_onnx(args.checkpoint, args.out, opset=args.opset)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); use it with "
          f"`genrekit predict --model {out}` (onnxruntime, no torch needed)")
    if args.quantize:
        from ..data.manifest import load_catalog, scan_audio
        from ..inference.classifier import GenreClassifier
        from ..quantize import calibration_slices, quantize_onnx

        clf = GenreClassifier.load(out)
        cat = (load_catalog(args.calibrate) if str(args.calibrate).lower().endswith(".csv")
               else scan_audio([args.calibrate]))
        paths = [str(t.path) for t in cat]
        x = calibration_slices(paths, clf.file_job, clf.width, clf.hop,
                               n=args.calibration_slices)
        q = quantize_onnx(out, Path(str(out).removesuffix(".onnx") + ".int8.onnx"), x)
        print(f"wrote {q} ({q.stat().st_size / 1e6:.2f} MB; int8, calibrated on {len(x)} "
              f"slices of {len(paths)} files)")
        _report_agreement(out, q, x)
    return 0


def _report_agreement(float_path, int8_path, slices) -> None:
    """How far the int8 graph drifts from the float one, on the calibration slices (the
    songs you should also check it on: `genrekit evaluate` both), and whether int8 pays on
    this CPU."""
    from ..inference.runners import int8_ok
    from ..quantize import slice_agreement

    agree, diff = slice_agreement(float_path, int8_path, slices)
    print(f"int8 vs float on the {len(slices)} calibration slices: the same top class on "
          f"{agree:.1%}, largest probability difference {diff:.3f}")
    if agree < 0.99:
        print("warning: the int8 graph changes more than 1% of the slice labels; compare "
              "both on your labelled songs (genrekit evaluate) before shipping it")
    if not int8_ok():
        print("note: this CPU has no VNNI: int8 may run slower than float here and its "
              "kernels can saturate; run the float graph on such CPUs")
