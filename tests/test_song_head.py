"""The song-level linear head: parity with scikit-learn's logistic regression, and the
identity that lets it ship as a per-slice head (linear on the mean embedding == geometric
mean of the slice probabilities)."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.inference.aggregate import aggregate
from genrekit.training.song_head import fit_logistic, fit_song_head, slice_logits


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)


@pytest.mark.parametrize("C,balanced", [(0.1, True), (1.0, False)])
def test_fit_logistic_matches_scikit_learn(C, balanced):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    y = np.concatenate([np.zeros(30, int), np.ones(20, int), np.full(10, 2)])
    X[:, 0] += y  # some signal
    W, b = fit_logistic(X, y, 3, C=C, balanced=balanced)
    sk = LogisticRegression(C=C, class_weight="balanced" if balanced else None, tol=1e-10,
                            max_iter=10000).fit(X, y)
    np.testing.assert_allclose(_softmax(X @ W.T + b), sk.predict_proba(X), atol=2e-4)


def test_song_head_is_the_slice_head_under_the_geometric_mean():
    rng = np.random.default_rng(1)
    songs = [rng.standard_normal((int(rng.integers(2, 6)), 5)) + i % 3 for i in range(12)]
    labels = np.array([i % 3 for i in range(12)])
    head = fit_song_head(songs, labels, 3, C=0.5)
    mu, sd, W, b = head
    for E in songs:
        song_level = _softmax(((E.mean(0) - mu) / sd) @ W.T + b)
        per_slice = _softmax(slice_logits(E, head))
        np.testing.assert_allclose(aggregate(per_slice, "geometric"), song_level, atol=1e-6)


def test_train_with_a_song_head_equals_the_fitted_song_level_model(toy_catalog, tmp_path):
    """``train.head=song`` on a frozen backbone: one fit, and the shipped per-slice head
    under the geometric mean gives the song-level model's probabilities."""
    import torch

    from genrekit.checkpoint import build_model, load_checkpoint
    from genrekit.cli import main
    from genrekit.inference.classifier import load_classifier

    out = tmp_path / "run"
    sets = ["features.names=[mel]", "features.n_mels=32", "model.name=tiny", "train.epochs=1",
            "train.freeze_epochs=1", "train.head=song", "train.head_c=0.5",
            "train.aggregate=geometric"]
    assert main(["train", str(toy_catalog), "--out", str(out), "--cache-dir",
                 str(tmp_path / "c"), *sum((["--set", s] for s in sets), [])]) == 0
    ck = load_checkpoint(out / "best.pt")
    assert ck["slices"]["aggregate"] == "geometric"
    assert ck["metrics"]["valid"]["accuracy"] >= 0.9  # toy genres are easy
    clf = load_classifier(out / "best.pt")
    model = build_model(ck).eval()
    clip = sorted((toy_catalog / "tones").glob("*.wav"))[-1]
    X = clf.features(clip)
    P, _ = clf.slice_probs([X])
    from genrekit.data.slices import grid_slices

    S, _ = grid_slices(X, clf.width, clf.hop)
    with torch.no_grad():
        x = (torch.from_numpy(S) - ck["normalization"]["mean"].view(1, -1, 1, 1)) / \
            ck["normalization"]["std"].view(1, -1, 1, 1)
        z = model.forward_features(x).mean(0, keepdim=True)  # the song's mean embedding
        song = torch.softmax(model.forward_head(z).double(), 1)[0].numpy()
    np.testing.assert_allclose(clf.predict(clip).scores[clf.classes_[0]], song[0], atol=1e-5)
    np.testing.assert_allclose(aggregate(P[0], "geometric"), song, atol=1e-5)


def test_song_head_needs_one_pass_on_a_frozen_backbone():
    from genrekit.config import load_config
    from genrekit.errors import ParameterError

    with pytest.raises(ParameterError, match="train.epochs=1"):
        load_config(None, ["train.head=song", "train.epochs=5"])
