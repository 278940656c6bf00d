import numpy as np
import pytest

from genrekit.training.calibrate import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)


def test_temperature_fixes_an_overconfident_model():
    rng = np.random.default_rng(0)
    n, K = 4000, 4
    labels = rng.integers(0, K, n)
    true_logits = rng.normal(0, 1.0, (n, K))
    true_logits[np.arange(n), labels] += 1.0  # a calibrated model's logits ...
    # ... sampled so that the labels follow softmax(true_logits)
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(K, p=row) for row in p])
    over = 3.0 * true_logits  # the same model, three times overconfident
    T = fit_temperature(over, labels)
    assert T == pytest.approx(3.0, rel=0.15)
    before = expected_calibration_error(np.exp(over) / np.exp(over).sum(1, keepdims=True),
                                        labels)
    after = expected_calibration_error(apply_temperature(
        np.exp(over) / np.exp(over).sum(1, keepdims=True), T), labels)
    assert after < before / 2 and after < 0.05


def test_apply_temperature_keeps_argmax_and_sums():
    P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    for T in (0.5, 1.0, 2.0):
        Q = apply_temperature(P, T)
        assert np.allclose(Q.sum(1), 1) and (Q.argmax(1) == P.argmax(1)).all()
    np.testing.assert_allclose(apply_temperature(P, 1.0), P, atol=1e-9)
    assert apply_temperature(P, 2.0)[0, 0] < 0.7  # softer


def test_calibrate_cli_writes_a_tempered_checkpoint(toy_catalog, tmp_path):
    from genrekit import GenreClassifier
    from genrekit.checkpoint import load_checkpoint
    from genrekit.cli import main

    run = tmp_path / "run"
    assert main(["train", str(toy_catalog), "--out", str(run), "--epochs", "2", "--cache-dir",
                 str(tmp_path / "c"), "--set", "features.names=[mel]", "--set",
                 "features.n_mels=32", "--set", "model.name=tiny", "--set",
                 "slices.slice_seconds=1.0"]) == 0
    assert main(["calibrate", str(run / "best.pt"), str(toy_catalog), "--subset", "valid",
                 "--out", str(tmp_path / "cal.pt"), "--cache-dir", str(tmp_path / "c")]) == 0
    ck = load_checkpoint(tmp_path / "cal.pt")
    T = ck["temperature"]
    cal = ck["metrics"]["calibration"]
    assert T > 0 and cal["slice_ece_after"] <= cal["slice_ece_before"] + 1e-9
    clip = sorted((toy_catalog / "tones").glob("*.wav"))[-1]
    a = GenreClassifier.load(run / "best.pt").slice_probs([GenreClassifier.load(
        run / "best.pt").features(clip)])[0][0]
    b = GenreClassifier.load(tmp_path / "cal.pt").slice_probs([GenreClassifier.load(
        tmp_path / "cal.pt").features(clip)])[0][0]
    np.testing.assert_allclose(b, apply_temperature(a, T), atol=1e-5)
