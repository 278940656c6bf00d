"""Parity of genrekit's features with librosa's own calls on shared GTZAN clips.

Prints, per feature, the max abs difference on bins above -80 dB (dB channels) or overall
(chroma/MFCC), and per-clip time of each side. Usage: python benchmarks/features_parity.py [--n 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _shared import gtzan_clips

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_features import ref_features  # noqa: E402  (the tests' librosa reference)

from genrekit import FeatureSpec, compute_features, load_audio  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5)
    a = ap.parse_args()
    clips = gtzan_clips(a.n)
    audio = [load_audio(p)[0] for p in clips]
    print(f"{'feature':12s} {'max |diff|':>12s} {'genrekit ms':>12s} {'librosa ms':>11s}")
    for name in ["stft", "mel", "mfcc", "hpss", "cqt", "chroma_stft", "chroma_cqt"]:
        spec = FeatureSpec(names=(name,))
        worst, tg, tl = 0.0, 0.0, 0.0
        for y in audio:
            t = time.perf_counter()
            X = compute_features(y, 22050, spec)
            tg += time.perf_counter() - t
            t = time.perf_counter()
            R = ref_features(y, name, spec)
            tl += time.perf_counter() - t
            mask = R > -80 if name in ("stft", "mel", "hpss", "cqt") else np.ones_like(R, bool)
            worst = max(worst, float(np.max(np.abs(X[mask] - R[mask]))))
        print(f"{name:12s} {worst:12.2e} {1000 * tg / len(audio):12.0f} "
              f"{1000 * tl / len(audio):11.0f}")


if __name__ == "__main__":
    main()
