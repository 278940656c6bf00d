"""The label audit on a catalog with labels flipped on purpose: ``--flip`` of the labelled
songs get a random other genre; how many of them are in the top ``--top`` of the audit list
(``genrekit.teach.audit.label_issues``: out-of-fold probabilities over artist-grouped
folds), mean over ``--seeds``. Then near duplicates, through the bundled model as
``genrekit audit`` runs them: ``--copies`` clips of the catalog re-encoded to mp3, cut by
1 s and delayed by 1 s (written to a temporary folder), each variant's cosine to its
original, and the pairs of the catalog's own different songs above the threshold.

Usage: python benchmarks/audit_sim.py [--emb runs/cv/embeddings-msd.npz] [--seeds 5]
       [--flip 0.1] [--top 0.15]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy_cv import Data

    from genrekit.teach.audit import label_issues

    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--flip", type=float, default=0.1)
    ap.add_argument("--top", type=float, default=0.15)
    ap.add_argument("--copies", type=int, default=10)
    a = ap.parse_args(argv)
    D = Data(a.emb)
    Z = np.stack([e.mean(0) for e in D.emb["penultimate"]])
    y = np.asarray(D.labels)
    hits = []
    for seed in range(a.seeds):
        rng = np.random.default_rng(seed)
        flipped = rng.choice(len(y), round(a.flip * len(y)), replace=False)
        noisy = y.copy()
        for i in flipped:
            noisy[i] = rng.choice([c for c in range(D.K) if c != y[i]])
        ranked = [r["index"] for r in label_issues(Z, noisy, D.groups, seed=seed)]
        top = set(ranked[:round(a.top * len(y))])
        hits.append(np.mean([i in top for i in flipped]))
        print(f"seed {seed}: {hits[-1]:.3f} of the {len(flipped)} flipped songs in the top "
              f"{a.top:.0%} ({len(top)} songs)", flush=True)
    print(f"mean {np.mean(hits):.3f} ± {np.std(hits, ddof=1):.3f} (target >= 0.70)")
    duplicates(D, a.copies)


def duplicates(D, copies: int) -> None:
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import write  # PyAV / soundfile writers of the tests

    from genrekit import GenreClassifier, load_audio
    from genrekit.commands.audit import training_scale
    from genrekit.teach.audit import DUPLICATE_COSINE, near_duplicates

    clf = GenreClassifier.from_pretrained()
    clf.keep_embeddings = True
    base = np.stack([clf.predict(p).embedding for p in D.paths])
    scale = training_scale(clf)
    tmp = Path(tempfile.mkdtemp(prefix="genrekit-dups-"))
    worst = 1.0
    for k, i in enumerate(np.linspace(0, len(D.paths) - 1, copies).astype(int)):
        y, sr = load_audio(D.paths[i], sr=22050)
        variants = {"mp3": write(tmp / f"{k}.mp3", y, sr=sr),
                    "cut 1 s": write(tmp / f"{k}-cut.wav", y[sr:], sr=sr),
                    "delayed 1 s": write(tmp / f"{k}-late.wav",
                                         np.r_[np.zeros(sr, np.float32), y], sr=sr)}
        Z = np.stack([base[i]] + [clf.predict(v).embedding for v in variants.values()])
        X = (Z - scale["shift"]) / scale["scale"]
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        cos = X[1:] @ X[0]
        worst = min(worst, float(cos.min()))
        print(f"{Path(D.paths[i]).name}: " + ", ".join(
            f"{n} {c:.4f}" for n, c in zip(variants, cos, strict=True)))
    pairs = near_duplicates(base, **scale)
    print(f"lowest cosine of a variant to its original: {worst:.4f} (threshold "
          f"{DUPLICATE_COSINE}); pairs of the catalog's different songs above it: "
          f"{len(pairs)} of {len(base) * (len(base) - 1) // 2}")


if __name__ == "__main__":
    main()
