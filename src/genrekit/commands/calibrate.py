"""``genrekit calibrate CHECKPOINT DATA [--split FILE | --subset valid] --out FILE``:
temperature scaling fitted on labelled (validation) songs; prints ECE before and after."""

from __future__ import annotations

from .common import selected_catalog


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint")
    p.add_argument("data", help="labelled catalog (use validation songs, never training ones)")
    p.add_argument("--split", help="only the files in this list")
    p.add_argument("--subset", choices=["train", "valid", "test"], default=None)
    p.add_argument("--out", required=True, help="the calibrated checkpoint (.pt)")
    p.add_argument("--cache-dir", default="cache")
    p.add_argument("--audio-dir")


def run(args) -> int:
    import numpy as np

    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..errors import ParameterError
    from ..features.spec import FeatureSpec
    from ..inference.aggregate import aggregate
    from ..training.calibrate import apply_temperature, expected_calibration_error, fit_temperature
    from ..training.evaluate import checkpoint_song_scores
    from ..training.songs import load_songs

    ckpt = load_checkpoint(args.checkpoint)
    cat = selected_catalog(args.data, split=args.split, subset=args.subset,
                           audio_dir=args.audio_dir)
    classes = list(ckpt["classes"])
    tracks = [t for t in cat if t.label in classes]
    if not tracks:
        raise ParameterError("no labelled songs with the model's classes to calibrate on")
    spec = FeatureSpec.from_dict(ckpt["features"])
    songs, _ = load_songs(tracks, classes, spec, args.cache_dir)
    rule = ckpt["slices"].get("aggregate", "confidence")
    t0 = float(ckpt.get("temperature", 1.0))
    _, slice_probs = checkpoint_song_scores(ckpt, args.checkpoint, songs, rule=rule,
                                            temperature=1.0)  # the model's own probabilities
    P = np.concatenate(slice_probs)
    y = np.concatenate([np.full(len(p), lab) for p, lab in zip(slice_probs, songs.labels,
                                                               strict=True)])
    T = fit_temperature(np.log(np.clip(P, 1e-12, 1)), y)

    def song_ece(temp):
        scores = np.stack([aggregate(apply_temperature(p, temp), rule) for p in slice_probs])
        return expected_calibration_error(scores, songs.labels)

    before = (expected_calibration_error(apply_temperature(P, t0), y), song_ece(t0))
    after = (expected_calibration_error(apply_temperature(P, T), y), song_ece(T))
    ckpt = {k: v for k, v in ckpt.items() if k not in ("format", "format_version")}
    ckpt["temperature"] = T
    ckpt.setdefault("metrics", {})["calibration"] = {
        "temperature": T, "songs": len(songs), "slice_ece_before": before[0],
        "slice_ece_after": after[0], "song_ece_before": before[1], "song_ece_after": after[1]}
    save_checkpoint(args.out, ckpt)
    print(f"temperature {T:.3f} fitted on {len(songs)} songs ({len(P)} slices); ECE per slice "
          f"{before[0]:.3f} -> {after[0]:.3f}, per song {before[1]:.3f} -> {after[1]:.3f}; "
          f"wrote {args.out}")
    return 0
