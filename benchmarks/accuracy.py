"""Accuracy table on the shared GTZAN copy: per-song accuracy and macro-F1 on
splits/valid.txt (mean +- std over seeds) for MFCC + logistic regression and each model
recipe with and without augmentation, plus an ensemble of the best run of each recipe.

Usage: python benchmarks/accuracy.py [--seeds 0,1,2] [--epochs 40]
       [--models cnn,crnn,resnet18] [--out runs/accuracy]
(CPU time grows with models x 2 x seeds; resnet18 is slow without a GPU.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _shared import GTZAN

AUGMENT = ["augment.freq_mask=16", "augment.time_mask=24", "augment.mixup_alpha=0.3",
           "augment.gain_db=6", "augment.pitch_shift_bins=2", "augment.time_stretch=0.1"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--models", default="cnn,crnn,resnet18")
    ap.add_argument("--out", default="runs/accuracy")
    ap.add_argument("--cache-dir", default="cache")
    a = ap.parse_args()

    from train_gtzan import mfcc_logreg

    from genrekit.checkpoint import load_checkpoint, save_checkpoint
    from genrekit.config import load_config
    from genrekit.data import load_catalog
    from genrekit.inference.ensemble import make_ensemble
    from genrekit.training.evaluate import classifier_report, evaluate_checkpoint
    from genrekit.training.trainer import train

    cat = load_catalog(GTZAN)
    tr, va = cat.subset("train"), cat.subset("valid")
    rows = {"logreg on MFCC mean+std": [mfcc_logreg(list(tr), list(va))]}
    best = {}
    out = Path(a.out)
    for model in a.models.split(","):
        for aug in (False, True):
            name = f"{model}{' + augmentation' if aug else ''}"
            for seed in map(int, a.seeds.split(",")):
                run = out / f"{model}-{'aug' if aug else 'plain'}-s{seed}"
                sets = [f"model.name={model}", f"train.seed={seed}",
                        f"train.epochs={a.epochs}", f"train.cache_dir={a.cache_dir}",
                        "features.names=[mel,hpss]"] + (AUGMENT if aug else [])
                if model == "resnet18":
                    sets.append("model.kwargs.width=32")
                train(load_config(None, sets), cat, run, resume=(run / "last.pt").exists())
                rep = evaluate_checkpoint(run / "best.pt", list(va), cache_dir=a.cache_dir)
                rows.setdefault(name, []).append((rep["accuracy"], rep["macro_f1"]))
                if rep["macro_f1"] > best.get(name, (None, -1))[1]:
                    best[name] = (run / "best.pt", rep["macro_f1"])
                print(f"{name} seed {seed}: acc {rep['accuracy']:.3f} "
                      f"macro-F1 {rep['macro_f1']:.3f}", flush=True)
    if len(best) >= 2:  # weights equal: fitting them on valid would overstate the result
        ens = make_ensemble([load_checkpoint(p) for p, _ in best.values()])
        save_checkpoint(out / "ensemble.pt", ens)
        rep = classifier_report(out / "ensemble.pt", list(va))
        rows["ensemble of each recipe's best run"] = [(rep["accuracy"], rep["macro_f1"])]
    print(f"\n{'recipe':40s} {'accuracy':>15s} {'macro-F1':>15s}  (per song, {len(va)} "
          "valid songs, mean +- std over seeds)")
    for name, vals in rows.items():
        v = np.array(vals)
        print(f"{name:40s} {v[:, 0].mean():7.3f} +- {v[:, 0].std():.3f} "
              f"{v[:, 1].mean():7.3f} +- {v[:, 1].std():.3f}  (n={len(v)})")
    (out / "accuracy.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
