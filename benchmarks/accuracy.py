"""Accuracy table on the shared GTZAN copy: per-song accuracy and macro-F1 on
splits/valid.txt (mean +- std over seeds) for MFCC + logistic regression, each
from-scratch model with and without augmentation, the pretrained musicnn backbone (frozen
with a new head, and fine-tuned), plus an equal-weight ensemble of the best run of each
recipe.

Usage: python benchmarks/accuracy.py [--seeds 0,1,2] [--epochs 40]
       [--recipes cnn,cnn+aug,crnn,crnn+aug,resnet18,resnet18+aug,musicnn-frozen,
        musicnn-finetuned] [--finetune-seeds 0] [--out runs/accuracy]
musicnn-finetuned continues the same seed's musicnn-frozen run (run that recipe first).
(CPU time grows with recipes x seeds: on 2 cores a from-scratch run is 10-20 min, a frozen
musicnn run about 4 min, a fine-tuned musicnn run about 20 min; resnet18 is slow without
a GPU.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _shared import GTZAN

AUGMENT = ["augment.freq_mask=16", "augment.time_mask=24", "augment.mixup_alpha=0.3",
           "augment.gain_db=6", "augment.pitch_shift_bins=2", "augment.time_stretch=0.1"]


SCRATCH = ("cnn", "crnn", "resnet18")


def musicnn_song_logreg(train_tracks, valid_tracks, cache_dir):
    """The issue's reference recipe: musicnn's 753-d ``max_pool`` per 3 s window (no
    overlap), mean and max over a song's windows, then a logistic regression per song;
    returns ``(accuracy, macro_f1)``. (Not a genrekit model: it needs the whole song.)"""
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from genrekit.config import load_config
    from genrekit.models import create_model
    from genrekit.training.probe import embed_songs
    from genrekit.training.songs import load_songs

    spec = load_config(CONFIGS / "musicnn.yaml").features
    net = create_model("musicnn", 2, 1, embedding="max_pool").eval()
    classes = sorted({t.label for t in train_tracks})
    X = {}
    for name, tracks in (("train", train_tracks), ("valid", valid_tracks)):
        songs, _ = load_songs(tracks, classes, spec, cache_dir)
        E = embed_songs(net, songs, width=187, hop=187, mean=torch.zeros(1),
                        std=torch.ones(1), device=torch.device("cpu"))
        X[name] = (np.stack([np.concatenate([e.mean(0), e.max(0)]) for e in E]), songs.labels)
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1))
    pred = lr.fit(*X["train"]).predict(X["valid"][0])
    return accuracy_score(X["valid"][1], pred), f1_score(X["valid"][1], pred, average="macro")
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def recipe(name: str, epochs: int):
    """``(config file or None, overrides)`` of a recipe name."""
    if name == "musicnn-frozen":  # linear probe: the shipped recipe
        return CONFIGS / "musicnn.yaml", []
    if name == "musicnn-finetuned":  # from the frozen run (head trained): all, gently
        return CONFIGS / "musicnn.yaml", [
            "train.epochs=3", "train.freeze_epochs=0", "train.lr=1e-4", "train.patience=0",
            "train.crops_per_song=4", "train.batch_size=32", "augment.freq_mask=8",
            "augment.time_mask=16"]
    model, _, aug = name.partition("+")
    if model not in SCRATCH:
        raise SystemExit(f"unknown recipe {name!r}")
    sets = [f"model.name={model}", f"train.epochs={epochs}", "features.names=[mel,hpss]"]
    if model == "resnet18":
        sets.append("model.kwargs.width=32")
    return None, sets + (AUGMENT if aug else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--finetune-seeds", default="0",
                    help="seeds of musicnn-finetuned (the slowest recipe on a CPU)")
    ap.add_argument("--epochs", type=int, default=40, help="epochs of from-scratch recipes")
    ap.add_argument("--recipes", default=",".join(
        [m + s for m in SCRATCH for s in ("", "+aug")] + ["musicnn-frozen",
                                                          "musicnn-finetuned"]))
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
    rows = {"logreg on MFCC mean+std": [mfcc_logreg(list(tr), list(va))],
            "logreg on musicnn song max_pool (reference)": [
                musicnn_song_logreg(list(tr), list(va), a.cache_dir)]}
    best = {}
    out = Path(a.out)
    for name in a.recipes.split(","):
        config, sets = recipe(name, a.epochs)
        seeds = a.finetune_seeds if name == "musicnn-finetuned" else a.seeds
        for seed in map(int, seeds.split(",")):
            run = out / f"{name.replace('+', '-')}-s{seed}"
            cfg = load_config(config, [*sets, f"train.seed={seed}",
                                       f"train.cache_dir={a.cache_dir}"])
            init = None
            if name == "musicnn-finetuned":  # continues the same seed's frozen run
                init = load_checkpoint(out / f"musicnn-frozen-s{seed}" / "best.pt")
            train(cfg, cat, run, resume=(run / "last.pt").exists(), init=init)
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
