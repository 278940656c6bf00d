"""Train `cnn` on the shared GTZAN train split, evaluate per song on splits/valid.txt, and
print it next to two baselines computed in the same run: the majority class, and logistic
regression on clip-level mean+std of MFCCs (scikit-learn).

Usage: python benchmarks/train_gtzan.py [--out runs/bench-cnn] [--epochs 40] [--skip-train]
(--skip-train evaluates an existing OUT/best.pt.)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _shared import GTZAN


def mfcc_stats(paths):
    from genrekit import load_audio
    from genrekit.features import FeatureSpec, compute_features

    spec = FeatureSpec(names="mfcc", n_mfcc=20)
    out = []
    for p in paths:
        y, sr = load_audio(p)
        M = compute_features(y, sr, spec)[0]
        out.append(np.concatenate([M.mean(1), M.std(1)]))
    return np.stack(out)


def mfcc_logreg(train_tracks, valid_tracks):
    """The baseline: logistic regression on clip-level MFCC mean+std; returns
    ``(accuracy, macro_f1)`` on the valid tracks."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_tr, y_va = [t.label for t in train_tracks], [t.label for t in valid_tracks]
    Xtr = mfcc_stats([t.path for t in train_tracks])
    Xva = mfcc_stats([t.path for t in valid_tracks])
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0,
                                                            class_weight="balanced"))
    pred = lr.fit(Xtr, y_tr).predict(Xva)
    return accuracy_score(y_va, pred), f1_score(y_va, pred, average="macro")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/bench-cnn")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--cache-dir", default="cache")
    ap.add_argument("--skip-train", action="store_true")
    a = ap.parse_args()

    from sklearn.metrics import accuracy_score, f1_score

    from genrekit.config import load_config
    from genrekit.data import load_catalog
    from genrekit.training.evaluate import evaluate_checkpoint
    from genrekit.training.trainer import train

    cat = load_catalog(GTZAN)  # splits/train.txt + valid.txt; unlisted clips get no split
    tr, va = cat.subset("train"), cat.subset("valid")
    y_tr = np.array([t.label for t in tr])
    y_va = np.array([t.label for t in va])
    print(f"GTZAN copy: {len(tr)} train, {len(va)} valid songs "
          f"({len(cat) - len(tr) - len(va)} unlisted clips not used)")

    rows = []
    majority = max(set(y_tr), key=list(y_tr).count)
    pred = np.full(len(y_va), majority)
    rows.append(("majority class", accuracy_score(y_va, pred),
                 f1_score(y_va, pred, average="macro")))

    t = time.perf_counter()
    rows.append(("logreg on MFCC mean+std", *mfcc_logreg(list(tr), list(va))))
    t_lr = time.perf_counter() - t

    out = Path(a.out)
    t = time.perf_counter()
    if not a.skip_train:
        cfg = load_config(None, [f"train.epochs={a.epochs}", f"train.cache_dir={a.cache_dir}",
                                 "model.name=cnn", "features.names=[mel,hpss]"])
        train(cfg, cat, out, resume=(out / "last.pt").exists())
    t_cnn = time.perf_counter() - t
    rep = evaluate_checkpoint(out / "best.pt", list(va), cache_dir=a.cache_dir)
    rows.append(("genrekit cnn (mel+hpss)", rep["accuracy"], rep["macro_f1"]))

    print(f"\n{'model':28s} {'accuracy':>9s} {'macro-F1':>9s}   (per song, {len(va)} valid)")
    for name, acc, f1 in rows:
        print(f"{name:28s} {acc:9.3f} {f1:9.3f}")
    print(f"\ncnn per-slice accuracy {rep['slice_accuracy']:.3f}; "
          f"training {t_cnn / 60:.1f} min, logreg features {t_lr:.0f} s")


if __name__ == "__main__":
    main()
