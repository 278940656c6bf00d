"""The cross-validation table: recipes compared on artist-grouped, label-stratified folds
(``genrekit.training.cv``), repeated over seeds, on every labelled song of a catalog.

Usage:
  python benchmarks/cv_embed.py [DATA]                   # per-slice embeddings, once
  python benchmarks/accuracy_cv.py [--emb runs/cv/embeddings-msd.npz] [--k 5]
         [--seeds 0,1,2,3,4] [--recipes all|name,name] [--out runs/cv/report.json]

DATA defaults to the shared GTZAN copy (train + valid, never `unlisted`); any catalog with
an artist/group column works. Columns: CV accuracy and macro-F1 as mean +- std over every
fold of every seed; the paired difference to the reference row (musicnn song embedding +
logistic regression) per seed, mean +- std over seeds (each seed's out-of-fold predictions
pooled); and the old train -> valid number (GTZAN's lists) as one more column.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from _shared import GTZAN

REFERENCE = "ref: msd max_pool mean+max, logreg C=0.1"


class Data:
    """Embeddings per song (lists of ``[N_i, D]``), labels, groups; with a second network's
    file (``other``), its embeddings as ``mtt:NAME`` and the concatenations as
    ``msd+mtt:NAME``."""

    def __init__(self, path, other=None, name="mtt"):
        self._load(path)
        if other:
            first = dict(self.emb)
            self._load(other)
            second = self.emb
            self.emb = dict(first)
            for k, v in second.items():
                self.emb[f"{name}:{k}"] = v
                base = first.get(k, first["penultimate"])  # same layer, or msd penultimate
                self.emb[f"msd+{name}:{k}"] = [np.concatenate([a, b], 1) for a, b in
                                               zip(base, v, strict=True)]

    def _load(self, path):
        z = np.load(path)
        if hasattr(self, "paths") and [str(p) for p in z["paths"]] != self.paths:
            raise SystemExit(f"{path}: not the same songs in the same order")
        cut = np.cumsum(z["n_slices"])[:-1]
        split = lambda a: np.split(a, cut)  # noqa: E731
        self.classes = [str(c) for c in z["classes"]]
        self.labels, self.groups = z["labels"], z["groups"]
        self.paths = [str(p) for p in z["paths"]]
        self.mfcc, self.K = z["mfcc"], len(self.classes)
        if "pool5" in z:  # a VGG network
            self.emb = {"pool5": split(z["pool5"]), "tags": split(z["tags"])}
            return
        mx, mean = z["max_pool"], z["mean_pool"]
        pool = np.stack([mx, mean], axis=2).reshape(len(mx), -1)  # musicnn's interleaving
        self.emb = {"max_pool": split(mx), "pool": split(pool),
                    "penultimate": split(z["penultimate"]), "tags": split(z["tags"]),
                    "pool+tags": split(np.concatenate([pool, z["tags"]], 1))}


def sk_logreg(C, balanced):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(
        C=C, max_iter=5000, class_weight="balanced" if balanced else None))


def song_table_recipe(features, C, balanced):
    """Song-level features (a fixed table) + scikit-learn logistic regression."""
    def fit_predict(tr, te, seed):
        m = sk_logreg(C, balanced).fit(features[tr], D.labels[tr])
        P = np.zeros((len(te), D.K))
        P[:, m.classes_] = m.predict_proba(features[te])
        return P
    return fit_predict


def song_head_recipe(name, C, step=1):
    """genrekit's song head: linear on the mean slice embedding (== per-slice head with
    geometric-mean aggregation), class-balanced; ``step``: every step-th slice only (a
    cheaper grid: slice hop step x 3 s)."""
    from genrekit.training.song_head import fit_song_head, slice_logits

    E = [e[::step] for e in D.emb[name]]

    def fit_predict(tr, te, seed):
        head = fit_song_head([E[i] for i in tr], D.labels[tr], D.K, C=C)
        out = []
        for i in te:
            z = slice_logits(E[i], head).mean(0)
            out.append(np.exp(z - z.max()) / np.exp(z - z.max()).sum())
        return np.stack(out)
    return fit_predict


def slice_head_recipe(epochs=60, rule="confidence"):
    """The v2 default's recipe: BatchNorm + dropout + linear per slice on ``pool``, trained
    on slice embeddings (class weights, balanced sampler, label smoothing 0.05, mixup 0.2,
    AdamW lr 1e-3 wd 0.01, cosine), fixed epochs (no early stopping), confidence-weighted."""
    import torch

    from genrekit.config import load_config
    from genrekit.data.sampling import class_weights
    from genrekit.models import create_model
    from genrekit.training.probe import predict_from_embeddings, train_head_epoch
    from genrekit.training.songs import SongSet
    from genrekit.training.trainer import _scheduler

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "musicnn.yaml",
                      [f"train.epochs={epochs}"])
    E = D.emb["pool"]

    def fit_predict(tr, te, seed):
        tc = cfg.train
        torch.manual_seed(seed)
        model = create_model("musicnn", D.K, 1, pretrained=None, embedding="pool",
                             dropout=0.5)
        songs = SongSet([None] * len(tr), D.labels[tr], [D.paths[i] for i in tr])
        emb = [E[i].astype(np.float32) for i in tr]
        w = torch.from_numpy(class_weights(D.labels[tr], D.K, power=tc.class_weight_power))
        opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
        steps = -(-len(tr) * tc.crops_per_song // tc.batch_size)
        sched = _scheduler(opt, tc, steps)
        tcs = replace(tc, seed=seed)
        for ep in range(1, tc.epochs + 1):
            train_head_epoch(model, opt, sched, songs, emb, cfg=tcs, epoch=ep,
                             device=torch.device("cpu"), loss_weight=w.float(),
                             augment=cfg.augment)
        scores, _ = predict_from_embeddings(model, [E[i].astype(np.float32) for i in te],
                                            device=torch.device("cpu"), rule=rule)
        return scores
    return fit_predict


def recipes(names):
    mx = D.emb["max_pool"]
    ref = np.stack([np.concatenate([e.mean(0), e.max(0)]) for e in mx])
    pool = D.emb["pool"]
    all_ = {
        "mfcc mean+std, logreg C=1": lambda: song_table_recipe(D.mfcc, 1.0, True),
        REFERENCE: lambda: song_table_recipe(ref, 0.1, False),
        "v2 default: slice head, 60 ep, confidence": lambda: slice_head_recipe(),
        "pool mean+std, logreg C=0.1": lambda: song_table_recipe(np.stack(
            [np.concatenate([e.mean(0), e.std(0)]) for e in pool]), 0.1, True),
    }
    for emb in ("pool", "max_pool", "penultimate", "tags", "pool+tags"):
        for C in (0.003, 0.01, 0.03, 0.1, 0.3):
            all_[f"song head: mean {emb}, C={C}"] = (lambda e=emb, c=C: song_head_recipe(e, c))
    for C in (0.003, 0.01):  # half the model time: every other 3 s slice
        all_[f"song head: mean penultimate, C={C}, 6 s slice hop"] = (
            lambda c=C: song_head_recipe("penultimate", c, step=2))
    for emb in [k for k in D.emb if k.startswith(("vgg_msd:", "msd+vgg_msd:"))]:
        for C in (0.003, 0.01, 0.03, 0.1):
            all_[f"song head: mean {emb}, C={C}"] = (lambda e=emb, c=C: song_head_recipe(e, c))
    if "mtt:pool" in D.emb:
        for emb in ("mtt:pool", "mtt:tags", "msd+mtt:pool", "msd+mtt:penultimate",
                    "msd+mtt:tags", "msd+mtt:pool+tags"):
            for C in (0.01, 0.03, 0.1, 0.3):
                all_[f"song head: mean {emb}, C={C}"] = (
                    lambda e=emb, c=C: song_head_recipe(e, c))
        for C in (0.03, 0.1):
            all_[f"song head: mean msd+mtt:pool, C={C}, 6 s slice hop"] = (
                lambda c=C: song_head_recipe("msd+mtt:pool", c, step=2))
    if names == "all":
        return all_
    keep = [n for n in all_ if any(n.startswith(k) or k in n for k in names.split(","))]
    return {n: all_[n] for n in [REFERENCE, *keep] if n in all_}


def train_valid(fit_predict):
    """The old number: fit on GTZAN's train list, score its valid list."""
    import csv

    from genrekit.training.metrics import summary

    rows = {str(GTZAN / r["path"]): r["split"] for r in csv.DictReader(
        open(GTZAN / "index.csv"))}
    split = np.array([rows.get(p, "") for p in D.paths])
    tr, te = np.flatnonzero(split == "train"), np.flatnonzero(split == "valid")
    if not len(tr) or not len(te):
        return None
    rep = summary(D.labels[te], np.asarray(fit_predict(tr, te, 0)).argmax(1), D.classes)
    return rep["accuracy"], rep["macro_f1"]


def main(argv=None):
    global D
    from genrekit.training.cv import cross_validate, fold_summary, paired_difference

    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--emb2", default=None, help="a second network's embeddings")
    ap.add_argument("--emb2-name", default="mtt", help="its name in the rows (mtt, vgg_msd)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--recipes", default="all")
    ap.add_argument("--out", default="runs/cv/report.json")
    a = ap.parse_args(argv)
    D = Data(a.emb, a.emb2, a.emb2_name)
    seeds = [int(s) for s in a.seeds.split(",")]
    out = Path(a.out)
    done = {}  # a rerun keeps the rows it has (same k and seeds) and computes the rest
    if out.exists():
        old = json.loads(out.read_text())
        if old.get("k") == a.k and old.get("seeds") == seeds:
            done = {r["recipe"]: r for r in old["rows"]}
    results, table = {}, []
    for name, make in recipes(a.recipes).items():
        if name in done:
            row = done[name]
        else:
            fp = make()
            res = cross_validate(fp, D.labels, D.groups, D.classes, k=a.k, seeds=seeds)
            row = {"recipe": name, "acc": fold_summary(res, "accuracy"),
                   "f1": fold_summary(res, "macro_f1"), "train_valid": train_valid(fp),
                   "per_class_recall": res["per_class_recall"],
                   "confusion_matrix": res["confusion_matrix"], "seeds": res["seeds"]}
        results[name] = {"seeds": row["seeds"]}
        table.append(row)
        print(_line(row), flush=True)
        _write(out, a, seeds, list(done.values()), table)
    if REFERENCE in results:  # every row against the reference, on the same folds
        print("\n| recipe | CV accuracy | CV macro-F1 | d accuracy vs ref | d macro-F1 vs ref "
              "| train -> valid acc / F1 |\n|---|---|---|---|---|---|")
        for row in table:
            res = results[row["recipe"]]
            row["d_acc"] = paired_difference(res, results[REFERENCE], "accuracy")
            row["d_f1"] = paired_difference(res, results[REFERENCE], "macro_f1")
            print(_line(row))
    _write(out, a, seeds, list(done.values()), table)
    print(f"wrote {out}")


def _write(out: Path, a, seeds, kept: list, table: list) -> None:
    """The report so far, atomically (an interrupted run resumes from it)."""
    from genrekit.fileio import atomic_write_text

    names = {r["recipe"] for r in table}
    rows = table + [r for r in kept if r["recipe"] not in names]
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps({"k": a.k, "seeds": seeds, "classes": D.classes,
                                       "rows": rows}, indent=1))


def _line(r):
    f = lambda t: f"{t[0]:.3f} +- {t[1]:.3f}" if t else "-"  # noqa: E731
    tv = f"{r['train_valid'][0]:.3f} / {r['train_valid'][1]:.3f}" if r["train_valid"] else "-"
    return (f"| {r['recipe']} | {f(r['acc'])} | {f(r['f1'])} | {f(r.get('d_acc'))} | "
            f"{f(r.get('d_f1'))} | {tv} |")


if __name__ == "__main__":
    main()
