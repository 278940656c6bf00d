"""A simulated user teaches genrekit the genres of a labelled catalog, by each selection
strategy and by random picks, on the same songs (``cv_embed.py``'s embeddings).

The pool is every labelled song; the user labels the songs a strategy asks for, one step
of ``--step`` songs at a time (the selection refits after each step); after each budget the
model the user would get (``genrekit finetune default``'s song head: class-balanced
logistic regression, C=0.01, on the songs' mean ``penultimate`` embedding) is scored by
macro-F1 on the songs of every artist not yet labelled (songs of unknown artist are their
own artist). Mean over ``--seeds``. Also: labels needed to reach 90 % of the macro-F1 of
the head fitted on all labelled songs under the same artist-grouped CV (the recipe's CV
macro-F1), and each strategy's labels needed against random's.

Usage: python benchmarks/teach_sim.py [--emb runs/cv/embeddings-msd.npz] [--seeds 10]
       [--step 5] [--budgets 10,20,30,40,60,80,100,120] [--strategies auto,typiclust,...]
       [--out runs/cv/teach-sim.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

C_HEAD = 0.01


def macro_f1(y_true, y_pred, labels) -> float:
    f1 = []
    for c in labels:
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        f1.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1))


def score(D, pen, lab):
    """The finetune head on the labelled songs, macro-F1 on songs of unlabelled artists."""
    from genrekit.training.song_head import fit_song_head, slice_logits

    y = np.asarray(D.labels)
    arts = set(D.groups[lab].tolist())
    test = np.array([i for i in range(len(y)) if D.groups[i] not in arts])
    classes = np.unique(y[lab])
    if len(classes) < 2 or not len(test):
        return 0.0
    ymap = np.searchsorted(classes, y[lab])
    head = fit_song_head([pen[i] for i in lab], ymap, len(classes), C=C_HEAD)
    pred = classes[[int(slice_logits(pen[i], head).mean(0).argmax()) for i in test]]
    return macro_f1(y[test], pred, np.unique(y[test]))


def run(D, Z, pen, strategy, seed, budgets, step):
    from genrekit.teach.select import select

    y = np.asarray(D.labels)
    labels = [None] * len(y)
    out = {}
    n_lab = 0
    name, _, cold = strategy.partition("@")  # auto@30: cold start for the first 30 labels
    kw = {"cold_labels": int(cold)} if cold else {}
    while n_lab < max(budgets):
        want = min(step, max(budgets) - n_lab)
        for i in select(Z, labels, want, strategy=name, seed=seed * 1000 + n_lab, **kw):
            labels[i] = int(y[i])  # the simulated user answers with the true genre
        n_lab = sum(v is not None for v in labels)
        if n_lab in budgets:
            out[n_lab] = score(D, pen, np.array([i for i, v in enumerate(labels)
                                                 if v is not None]))
    return out


def labels_to_reach(curve: dict, target: float):
    for b in sorted(curve):
        if curve[b] >= target:
            return b
    return None


def main(argv=None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy_cv import Data, song_head_recipe

    from genrekit.training.cv import cross_validate

    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--step", type=int, default=5)
    ap.add_argument("--budgets", default="10,20,30,40,60,80,100,120")
    ap.add_argument("--strategies", default="auto,typiclust,kcenter,margin,random")
    ap.add_argument("--out", default="runs/cv/teach-sim.json")
    a = ap.parse_args(argv)
    import accuracy_cv

    D = accuracy_cv.D = Data(a.emb)
    pen = D.emb["penultimate"]
    Z = np.stack([e.mean(0) for e in pen])
    budgets = [int(b) for b in a.budgets.split(",")]
    t0 = time.time()
    ref = cross_validate(song_head_recipe("penultimate", C_HEAD), D.labels, D.groups,
                         D.classes, seeds=(0, 1, 2))
    all_f1 = float(np.mean([r["macro_f1"] for r in ref["seeds"]]))
    target = 0.9 * all_f1
    curves = {}
    for s in a.strategies.split(","):
        runs = []
        for seed in range(a.seeds):
            runs.append(run(D, Z, pen, s, seed, budgets, a.step))
        curves[s] = {b: float(np.mean([r[b] for r in runs])) for b in budgets}
        curves[s + " (std)"] = {b: float(np.std([r[b] for r in runs])) for b in budgets}
        print(f"{s}: " + " ".join(f"{b}:{curves[s][b]:.3f}" for b in budgets)
              + f" ({time.time() - t0:.0f} s)", flush=True)
    print(f"\nall-labels macro-F1 (artist-grouped CV of the same head, 3 seeds): {all_f1:.3f};"
          f" 90 % of it: {target:.3f}")
    print("| strategy | " + " | ".join(str(b) for b in budgets) + " | labels to 90 % |")
    print("|---|" + "---|" * (len(budgets) + 1))
    rnd = labels_to_reach(curves.get("random", {}), target)
    for s in a.strategies.split(","):
        need = labels_to_reach(curves[s], target)
        print(f"| {s} | " + " | ".join(f"{curves[s][b]:.3f} ± {curves[s + ' (std)'][b]:.3f}"
                                       for b in budgets)
              + f" | {need if need else '>' + str(max(budgets))} |")
    if "random" in curves and "auto" in curves:
        r60 = curves["random"].get(60)
        print(f"auto at 30: {curves['auto'].get(30):.3f} vs random at 60: {r60:.3f}; labels "
              f"to 90 %: auto {labels_to_reach(curves['auto'], target)}, random {rnd}; auto "
              "below random at: " + (", ".join(str(b) for b in budgets
                                               if curves["auto"][b] < curves["random"][b])
                                     or "no budget"))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"target": target, "all_labels_macro_f1": all_f1,
                                       "curves": curves, "step": a.step,
                                       "seeds": a.seeds}, indent=2))


if __name__ == "__main__":
    main()
