"""Classification metrics in numpy: accuracy, macro-F1, per-class report, confusion matrix."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``[K, K]``: rows are true classes, columns predicted."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    tp = np.diag(cm).astype(np.float64)
    pred, true = cm.sum(0), cm.sum(1)
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": true}


def summary(y_true, y_pred, classes: list[str]) -> dict:
    """accuracy, macro_f1 (over classes present in ``y_true``), per-class report, matrix."""
    K = len(classes)
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    cm = confusion_matrix(y_true, y_pred, K)
    pc = per_class(cm)
    present = pc["support"] > 0
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "macro_f1": float(pc["f1"][present].mean()) if present.any() else 0.0,
        "per_class": {c: {k: float(pc[k][i]) for k in pc} for i, c in enumerate(classes)},
        "confusion_matrix": cm.tolist(),
    }


def song_and_slice_metrics(song_scores, slice_probs, labels, classes, loss_weight=None):
    """Song-level summary plus slice accuracy and the mean slice NLL."""
    rep = summary(labels, song_scores.argmax(1), classes)
    sl_true = np.concatenate([np.full(len(p), y) for p, y in zip(slice_probs, labels,
                                                                 strict=True)])
    sl = np.concatenate(slice_probs)
    rep["slice_accuracy"] = float((sl.argmax(1) == sl_true).mean())
    rep["slice_loss"] = float(-np.log(np.clip(sl[np.arange(len(sl)), sl_true], 1e-7, 1)).mean())
    return rep


def better_epoch(row: dict, best: dict | None) -> bool:
    """Is validation ``row`` better than ``best`` (None: none yet)? Higher per-song macro-F1
    first (rare genres count as much as common ones), then lower slice loss."""
    return not best or (row["valid_macro_f1"], -row["valid_slice_loss"]) > (
        best["valid_macro_f1"], -best["valid_slice_loss"])


COVERAGES = (0.5, 0.8, 0.9, 1.0)


def risk_coverage(confidence, correct, coverages=COVERAGES) -> dict:
    """Selective classification: songs ranked by ``confidence`` (most first); accuracy of
    the top share at each coverage, the whole curve, and AURC (the mean error rate over
    every coverage n/N, n = 1..N: lower is better; 0 when every error ranks last)."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, bool)
    if not len(correct):
        raise ValueError("risk-coverage of no songs")
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    n = np.arange(1, len(correct) + 1)
    risk = 1.0 - hits / n
    at = {f"{c:g}": float(hits[max(1, round(c * len(n))) - 1] / max(1, round(c * len(n))))
          for c in coverages}
    return {"accuracy_at": at, "aurc": float(risk.mean()),
            "coverage": (n / len(n)).tolist(), "risk": risk.tolist()}
