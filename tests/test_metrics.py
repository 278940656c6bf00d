"""training/metrics.py against scikit-learn, and the best epoch chosen by macro-F1."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as sk_confusion

from genrekit.training.metrics import better_epoch, summary


@pytest.mark.parametrize("seed", range(6))
def test_summary_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 7))
    n = int(rng.integers(1, 60))
    y = rng.integers(0, K, n)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, K, n))  # some right, some not
    classes = [f"c{i}" for i in range(K)]
    rep = summary(y, pred, classes)
    present = np.unique(y)  # macro-F1 over the classes that occur in the truth
    assert rep["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert rep["macro_f1"] == pytest.approx(
        f1_score(y, pred, labels=present, average="macro", zero_division=0))
    np.testing.assert_array_equal(rep["confusion_matrix"], sk_confusion(y, pred,
                                                                        labels=range(K)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(K), zero_division=0)
    for i, c in enumerate(classes):
        m = rep["per_class"][c]
        assert (m["precision"], m["recall"], m["f1"], m["support"]) == pytest.approx(
            (p[i], r[i], f[i], s[i]))


def test_best_epoch_is_chosen_by_macro_f1_then_slice_loss():
    a = {"valid_macro_f1": 0.5, "valid_slice_loss": 1.0, "valid_accuracy": 0.9}
    b = {"valid_macro_f1": 0.6, "valid_slice_loss": 2.0, "valid_accuracy": 0.5}
    assert better_epoch(a, None) and better_epoch(b, a) and not better_epoch(a, b)
    c = {**b, "valid_slice_loss": 1.5}  # same macro-F1, lower loss
    assert better_epoch(c, b) and not better_epoch(b, c)


def test_training_keeps_the_epoch_with_the_best_macro_f1(toy_catalog, tmp_path):
    from genrekit.checkpoint import load_checkpoint
    from genrekit.cli import main

    out = tmp_path / "run"
    assert main(["train", str(toy_catalog), "--out", str(out), "--epochs", "4", "--cache-dir",
                 str(tmp_path / "cache"), "--set", "features.names=[mel]", "--set",
                 "features.n_mels=32", "--arch", "tiny", "--set", "train.patience=0"]) == 0
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    best = None
    for r in rows:
        r = {k: float(v) for k, v in r.items()}
        if better_epoch(r, best):
            best = r
    ck = load_checkpoint(out / "best.pt")
    assert ck["metrics"]["epoch"] == int(best["epoch"])
    assert ck["metrics"]["valid"]["macro_f1"] == pytest.approx(best["valid_macro_f1"])
