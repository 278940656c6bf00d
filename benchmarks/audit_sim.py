"""The label audit on a catalog with labels flipped on purpose: ``--flip`` of the labelled
songs get a random other genre; how many of them are in the top ``--top`` of the audit list
(``genrekit.teach.audit.label_issues``: out-of-fold probabilities over artist-grouped
folds), mean over ``--seeds``. Also the near-duplicate pairs among the catalog's own songs
at the shipped threshold (GTZAN's filtered lists should hold none) and the highest cosine
of two different songs.

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

    from genrekit.teach.audit import DUPLICATE_COSINE, label_issues, near_duplicates
    from genrekit.teach.select import standardize, unit

    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--flip", type=float, default=0.1)
    ap.add_argument("--top", type=float, default=0.15)
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
    X = unit(standardize(Z))
    sim = X @ X.T
    np.fill_diagonal(sim, -1)
    print(f"near duplicates among the catalog's {len(y)} songs at cosine >= "
          f"{DUPLICATE_COSINE}: {len(near_duplicates(Z))}; highest cosine of two songs: "
          f"{sim.max():.3f}")


if __name__ == "__main__":
    main()
