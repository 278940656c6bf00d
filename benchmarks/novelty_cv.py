"""The protocol that chooses genrekit's novelty score, its "unknown" thresholds and checks
its conformal prediction sets: leave-one-genre-out x artist-grouped folds over every
labelled song of a catalog (per-slice embeddings from ``cv_embed.py``).

For each seed, the songs are split into k folds of whole artists (``training.cv``). For
each genre g and fold f: the song head (the shipped recipe: logistic regression on the
mean ``penultimate`` embedding, C=0.01) and every novelty score are fitted on the songs of
the *other* genres outside fold f; the songs of the known genres in fold f are "in", every
song of g is "out". AUROC (out above in) and FPR at 95 % TPR (the share of out songs kept
when 95 % of in songs are kept) per (seed, genre, fold), averaged over folds and seeds.
Paired differences to max-softmax: per seed, the mean over genres of (score - msp).

The shipped abstain rule is then checked as it ships, nested: on each outer training set
the whole open-set model is fitted as ``genrekit`` fits it (``song_head_open_set``: inner
artist-grouped out-of-fold reference and calibration), and applied to the held-out songs:
- leave-one-genre-out: coverage and accuracy on the known genres' held-out songs, and the
  share of the unknown genre's songs labelled ``unknown``;
- all genres known (plain 10-genre CV): coverage / accuracy of the default rule and of a
  ``min_confidence`` sweep, selective accuracy at 50/80/90/100 % coverage and AURC, and the
  conformal sets' empirical coverage and mean size at 0.8 / 0.9 / 0.95.

Usage: python benchmarks/novelty_cv.py [--emb runs/cv/embeddings-msd.npz] [--seeds 0,1,2]
       [--k 5] [--out runs/cv/novelty-report.json] [--no-nested]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

C_HEAD = 0.01
LEVELS = (0.8, 0.9, 0.95)
MIN_CONF_SWEEP = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def auroc(inn, out) -> float:
    """P(out score > in score), ties counting half (Mann-Whitney)."""
    from scipy.stats import rankdata

    r_out = rankdata(np.concatenate([inn, out]))[len(inn):].sum()
    return float((r_out - len(out) * (len(out) + 1) / 2) / (len(inn) * len(out)))


def fpr_at_95(inn, out) -> float:
    return float(np.mean(out <= np.quantile(inn, 0.95)))


def softmax(z):
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def scores_of_fold(D, tr, te, ymap, K):
    """Every novelty score of songs ``te`` (higher = more novel), fitted on ``tr``."""
    from genrekit.training.open_set import fit_components
    from genrekit.training.song_head import fit_song_head, slice_logits

    pen = D.emb["penultimate"]
    Z = {k: np.stack([e.mean(0) for e in D.emb[k]]) for k in ("penultimate", "tags", "pool")}
    head = fit_song_head([pen[i] for i in tr], ymap[tr], K, C=C_HEAD)
    slice_L = {i: slice_logits(pen[i], head) for i in te}
    L = np.stack([slice_L[i].mean(0) for i in te])
    P = softmax(L)
    song_lbl = P.argmax(1)
    out = {"max-softmax (baseline)": -P.max(1), "max-logit": -L.max(1),
           "energy": -np.log(np.exp(L - L.max(1, keepdims=True)).sum(1)) - L.max(1),
           "slice disagreement (per-slice)": np.array(
               [1 - np.mean(slice_L[i].argmax(1) == s) for i, s in zip(te, song_lbl, strict=True)])}

    def comp(layer, *score):
        from genrekit.inference.open_set import raw_novelty

        cs = fit_components(Z[layer][tr], ymap[tr], score)
        return raw_novelty(cs, Z[layer][te]), cs

    out["Mahalanobis (shared cov, shrink 0.5)"] = comp(
        "penultimate", ("rmaha", {"shrink": 0.5, "relative": False}))[0]
    out["relative Mahalanobis (rmaha)"] = comp("penultimate", ("rmaha", {"shrink": 0.5}))[0]
    out["kNN-5 cosine"] = comp("penultimate", ("knn", {"k": 5}))[0]
    out["kNN-10 cosine"] = comp("penultimate", ("knn", {"k": 10}))[0]
    out["rmaha on tags layer"] = comp("tags", ("rmaha", {"shrink": 0.5}))[0]
    out["kNN-10 on pool layer"] = comp("pool", ("knn", {"k": 10}))[0]
    out["rmaha + kNN-10 (shipped)"] = comp("penultimate", ("rmaha", {"shrink": 0.5}),
                                           ("knn", {"k": 10}))[0]
    return out, P


def main(argv=None) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy_cv import Data

    from genrekit.training.cv import grouped_folds

    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--out", default="runs/cv/novelty-report.json")
    ap.add_argument("--no-nested", action="store_true",
                    help="skip the nested checks of the abstain rule and the sets (minutes)")
    a = ap.parse_args(argv)
    D = Data(a.emb)
    y, K, seeds = np.asarray(D.labels), D.K, [int(s) for s in a.seeds.split(",")]
    t0 = time.time()
    per = {}  # score -> [seed][genre] -> list of (auroc, fpr) over folds
    logo_rule = []  # nested: per (seed, genre, fold) coverage/accuracy/flagged
    for seed in seeds:
        fold = grouped_folds(y, D.groups, a.k, seed)
        for g in range(K):
            for f in range(a.k):
                known = y != g
                tr = np.flatnonzero(known & (fold != f))
                ti = np.flatnonzero(known & (fold == f))
                to = np.flatnonzero(~known)
                ymap = np.where(y > g, y - 1, y)  # labels of the 9 known genres
                s_all, _ = scores_of_fold(D, tr, np.concatenate([ti, to]), ymap, K - 1)
                s_in = {n: v[:len(ti)] for n, v in s_all.items()}
                s_out = {n: v[len(ti):] for n, v in s_all.items()}
                for name in s_in:
                    per.setdefault(name, {}).setdefault(seed, {}).setdefault(g, []).append(
                        (auroc(s_in[name], s_out[name]), fpr_at_95(s_in[name], s_out[name])))
                if not a.no_nested:
                    logo_rule.append(nested_rule(D, tr, ti, to, ymap, K - 1, seed, g))
            print(f"seed {seed} genre {D.classes[g]}: {time.time() - t0:.0f} s", flush=True)
    report = {"classes": D.classes, "seeds": seeds, "k": a.k, "scores": {}}
    base = "max-softmax (baseline)"
    for name, by_seed in per.items():
        au = np.array([[np.mean([r[0] for r in by_seed[s][g]]) for g in range(K)]
                       for s in seeds])  # [seeds, genres]
        fp = np.array([[np.mean([r[1] for r in by_seed[s][g]]) for g in range(K)]
                       for s in seeds])
        bau = np.array([[np.mean([r[0] for r in per[base][s][g]]) for g in range(K)]
                        for s in seeds])
        bfp = np.array([[np.mean([r[1] for r in per[base][s][g]]) for g in range(K)]
                        for s in seeds])
        report["scores"][name] = {
            "auroc_per_genre": au.mean(0).tolist(), "fpr95_per_genre": fp.mean(0).tolist(),
            "auroc": float(au.mean()), "fpr95": float(fp.mean()),
            "d_auroc_vs_msp": _ms(au.mean(1) - bau.mean(1)),
            "d_fpr95_vs_msp": _ms(fp.mean(1) - bfp.mean(1))}
    if logo_rule:
        report["logo_rule"] = _pool_rule(logo_rule, D.classes)
        report["known_cv"] = known_genres_cv(D, y, K, seeds, a.k)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"wrote {a.out} ({time.time() - t0:.0f} s)")


def _ms(v) -> list[float]:
    v = np.asarray(v, np.float64)
    return [float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0]


def fit_shipped(D, tr, ymap, K, seed):
    """The open-set model exactly as genrekit fits it on training songs ``tr``, and the
    shipped song head."""
    from genrekit.training.open_set import song_head_open_set
    from genrekit.training.song_head import fit_song_head

    pen = D.emb["penultimate"]
    emb = [pen[i] for i in tr]
    os_ = song_head_open_set(emb, ymap[tr], D.groups[tr], K, C=C_HEAD, seed=seed)
    return os_, fit_song_head(emb, ymap[tr], K, C=C_HEAD)


def apply_shipped(D, os_, head, idx, min_confidence=None):
    from genrekit.training.song_head import slice_logits

    pen = D.emb["penultimate"]
    P = softmax(np.stack([slice_logits(pen[i], head).mean(0) for i in idx]))
    nov = os_.novelty(np.stack([pen[i].mean(0) for i in idx]))
    mc = os_.min_confidence if min_confidence is None else min_confidence
    unknown = (nov > os_.novelty_threshold) | (P.max(1) < mc)
    return P, nov, unknown


def nested_rule(D, tr, ti, to, ymap, K, seed, g):
    os_, head = fit_shipped(D, tr, ymap, K, seed)
    P, _, unk = apply_shipped(D, os_, head, ti)
    _, _, unk_out = apply_shipped(D, os_, head, to)
    ok = P.argmax(1) == ymap[ti]
    return {"genre": g, "n_in": len(ti), "covered": int((~unk).sum()),
            "correct_covered": int((ok & ~unk).sum()), "n_out": len(to),
            "out_unknown": int(unk_out.sum())}


def _pool_rule(rows, classes):
    out = {}
    for g, name in enumerate(classes):
        r = [x for x in rows if x["genre"] == g]
        cov = sum(x["covered"] for x in r) / sum(x["n_in"] for x in r)
        acc = sum(x["correct_covered"] for x in r) / max(1, sum(x["covered"] for x in r))
        flagged = sum(x["out_unknown"] for x in r) / sum(x["n_out"] for x in r)
        out[name] = {"coverage_known": cov, "accuracy_covered": acc,
                     "unknown_genre_flagged": flagged}
    out["mean"] = {k: float(np.mean([out[c][k] for c in classes]))
                   for k in ("coverage_known", "accuracy_covered", "unknown_genre_flagged")}
    return out


def known_genres_cv(D, y, K, seeds, k):
    """All genres known: the default rule, a min-confidence sweep, risk-coverage and the
    conformal sets, nested (thresholds and calibration from the training folds only)."""
    from genrekit.training.cv import grouped_folds

    rows = {"default": [], **{f"min_confidence={m:g}": [] for m in MIN_CONF_SWEEP}}
    sets = {lv: {"covered": [], "size": []} for lv in LEVELS}
    sel = []
    for seed in seeds:
        fold = grouped_folds(y, D.groups, k, seed)
        P_all, ok_all = np.zeros((len(y), K)), np.zeros(len(y), bool)
        for f in range(k):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            os_, head = fit_shipped(D, tr, y, K, seed)
            P, nov, unk = apply_shipped(D, os_, head, te)
            ok = P.argmax(1) == y[te]
            P_all[te], ok_all[te] = P, ok
            rows["default"].append((len(te), int((~unk).sum()), int((ok & ~unk).sum())))
            for m in MIN_CONF_SWEEP:
                u = (nov > os_.novelty_threshold) | (P.max(1) < m)
                rows[f"min_confidence={m:g}"].append((len(te), int((~u).sum()),
                                                      int((ok & ~u).sum())))
            for lv in LEVELS:
                for p, t in zip(P, y[te], strict=True):
                    s = os_.prediction_set(p, lv)
                    sets[lv]["covered"].append(t in s)
                    sets[lv]["size"].append(len(s))
        conf = P_all.max(1)
        order = np.argsort(-conf, kind="stable")
        risk = np.cumsum(~ok_all[order]) / np.arange(1, len(y) + 1)
        sel.append({"accuracy_at": {f"{c:g}": float(ok_all[order[:round(c * len(y))]].mean())
                                    for c in (0.5, 0.8, 0.9, 1.0)},
                    "aurc": float(risk.mean())})
    out = {}
    for name, r in rows.items():
        n, cov, cor = (sum(x[i] for x in r) for i in range(3))
        out[name] = {"coverage": cov / n, "accuracy_covered": cor / max(cov, 1)}
    return {"rules": out,
            "sets": {f"{lv:g}": {"coverage": float(np.mean(v["covered"])),
                                 "mean_size": float(np.mean(v["size"]))}
                     for lv, v in sets.items()},
            "selective": {"accuracy_at": {c: _ms([s["accuracy_at"][c] for s in sel])
                                          for c in sel[0]["accuracy_at"]},
                          "aurc": _ms([s["aurc"] for s in sel])}}


def print_report(rep) -> None:
    cls = rep["classes"]
    print("\n| score | " + " | ".join(cls) + " | mean AUROC | mean FPR@95 | paired dAUROC vs "
          "msp | paired dFPR@95 vs msp |")
    print("|---|" + "---|" * (len(cls) + 4))
    for name, r in sorted(rep["scores"].items(), key=lambda kv: -kv[1]["auroc"]):
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in r["auroc_per_genre"]) +
              f" | **{r['auroc']:.3f}** | {r['fpr95']:.3f} | "
              f"{r['d_auroc_vs_msp'][0]:+.3f} ± {r['d_auroc_vs_msp'][1]:.3f} | "
              f"{r['d_fpr95_vs_msp'][0]:+.3f} ± {r['d_fpr95_vs_msp'][1]:.3f} |")
    if "logo_rule" in rep:
        print("\nShipped abstain rule, leave-one-genre-out (nested):")
        print("| left-out genre | coverage (known) | accuracy (covered) | unknown genre "
              "flagged |\n|---|---|---|---|")
        for name, r in rep["logo_rule"].items():
            print(f"| {name} | {r['coverage_known']:.3f} | {r['accuracy_covered']:.3f} | "
                  f"{r['unknown_genre_flagged']:.3f} |")
        kc = rep["known_cv"]
        print("\nAll genres known (nested CV): rule -> coverage, accuracy on covered")
        for name, r in kc["rules"].items():
            print(f"  {name}: coverage {r['coverage']:.3f}, accuracy {r['accuracy_covered']:.3f}")
        print("Conformal sets: " + "; ".join(f"{lv}: coverage {v['coverage']:.3f}, mean size "
                                            f"{v['mean_size']:.2f}"
                                            for lv, v in kc["sets"].items()))
        s = kc["selective"]
        print("Selective accuracy (by top probability): " + ", ".join(
            f"{float(c):.0%}: {m:.3f} ± {sd:.3f}" for c, (m, sd) in s["accuracy_at"].items())
            + f"; AURC {s['aurc'][0]:.3f} ± {s['aurc'][1]:.3f}")


if __name__ == "__main__":
    main()
