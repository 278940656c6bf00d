"""Knowing when it doesn't know: the novelty model, "unknown", conformal prediction sets.

Pure parts on synthetic embeddings and probabilities (numpy only, as at prediction); the
bundled model on far-away synthetic audio; models without a novelty model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genrekit.errors import ParameterError
from genrekit.inference.open_set import (
    UNKNOWN,
    OpenSet,
    check_threshold,
    conformal_quantiles,
    pack,
    raw_novelty,
    unpack,
)
from genrekit.training.open_set import build_open_set, fit_components


def clusters(n_per=60, K=4, D=16, seed=0, spread=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (K, D))
    Z = np.concatenate([c + rng.normal(0, spread, (n_per, D)) for c in centres])
    return Z, np.repeat(np.arange(K), n_per), centres


def fitted(seed=0):
    Z, y, centres = clusters(seed=seed)
    Zh, yh, _ = clusters(n_per=40, seed=seed)  # same centres (same seed): held-out songs
    Zh = Zh + np.random.default_rng(seed + 1).normal(0, 0.1, Zh.shape)
    raw = raw_novelty(fit_components(Z, y), Zh)
    P = np.eye(4)[yh] * 0.7 + 0.075
    return build_open_set(Z, y, 4, raw_ref=raw, cal_probs=P, cal_labels=yh), centres


def test_pack_round_trip_and_plain_json():
    a = np.random.default_rng(0).normal(size=(3, 5))
    d = json.loads(json.dumps(pack(a)))
    np.testing.assert_allclose(unpack(d), a.astype(np.float32))
    assert unpack(pack(np.arange(4)))[3] == 3
    with pytest.raises(ValueError):
        unpack({"dtype": "object"})


def test_novelty_is_low_in_distribution_and_high_far_away():
    os_, centres = fitted()
    rng = np.random.default_rng(5)
    near = centres[1] + rng.normal(0, 1.0, (30, centres.shape[1]))
    far = rng.normal(0, 4, (30, centres.shape[1])) + 25.0
    n_near, n_far = os_.novelty(near), os_.novelty(far)
    assert np.all((0 <= n_near) & (n_near <= 1)) and np.all(n_far == 1.0)
    assert np.mean(n_near > os_.novelty_threshold) < 0.2
    assert os_.abstains(float(n_far[0]), 0.99)  # far away: unknown even when confident
    assert not os_.abstains(0.5, 0.99)
    assert os_.abstains(0.5, 0.05)  # in distribution but no genre above min_confidence


def test_neighbours_come_from_the_stored_training_songs():
    """The explanation bank: a training song's own embedding finds itself first, the next
    ones by decreasing similarity, all from stored data (no audio)."""
    Z, y, _ = clusters()
    os_ = build_open_set(Z, y, 4, raw_ref=np.zeros(5), cal_probs=np.eye(4)[[0, 1, 2, 3, 0]],
                         cal_labels=np.array([0, 1, 2, 3, 0]),
                         names=[f"song{i}" for i in range(len(Z))])
    back = OpenSet.from_dict(json.loads(json.dumps(os_.to_dict())))
    got = back.neighbours(Z[17], k=3)
    assert got[0][0] == 17 and got[0][1] > 0.999
    assert got[0][1] >= got[1][1] >= got[2][1] and all(y[i] == y[17] for i, _ in got)
    assert back.bank_names[17] == "song17" and int(back.bank_labels[17]) == y[17]


def test_open_set_survives_plain_data_and_json():
    os_, centres = fitted()
    back = OpenSet.from_dict(json.loads(json.dumps(os_.to_dict())))
    X = centres + 0.3
    np.testing.assert_allclose(back.novelty(X), os_.novelty(X))
    assert back.prediction_set(np.array([0.6, 0.3, 0.05, 0.05]), 0.9) == \
        os_.prediction_set(np.array([0.6, 0.3, 0.05, 0.05]), 0.9)
    with pytest.raises(ValueError):
        OpenSet.from_dict({**os_.to_dict(), "format_version": 99})


def calibrated_model(n, K=5, seed=0):
    """Probabilities of a calibrated model and labels drawn from them."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.6, (n, K))
    P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(K, p=p) for p in P])
    return P, y


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95])
def test_conformal_sets_hold_their_coverage(level):
    """Split conformal on held-out scores: the empirical coverage on new songs stays at the
    level (a drift of the quantile rule or of the set construction fails here)."""
    P_cal, y_cal = calibrated_model(1500, seed=1)
    P, y = calibrated_model(3000, seed=2)
    os_ = OpenSet([], np.zeros(1), 1.0, 0.0, 1.0 - P_cal[np.arange(1500), y_cal], y_cal, 5)
    sets = [os_.prediction_set(p, level) for p in P]
    coverage = np.mean([t in s for t, s in zip(y, sets, strict=True)])
    assert abs(coverage - level) < 0.025, coverage
    assert np.mean([len(s) for s in sets]) < 5  # informative, not everything


def test_conformal_sets_equal_crepes():
    """Our ~20 lines against crepes' ConformalClassifier (non-smoothed p-values): the same
    sets, marginal and class-conditional (Mondrian by label, fitted per class)."""
    crepes = pytest.importorskip("crepes")
    P_cal, y_cal = calibrated_model(400, K=4, seed=3)
    P, _ = calibrated_model(300, K=4, seed=4)
    alphas_cal = 1.0 - P_cal[np.arange(400), y_cal]
    for level in (0.8, 0.9):
        cc = crepes.ConformalClassifier().fit(alphas_cal)
        ref = cc.predict_set(1.0 - P, confidence=level, smoothing=False)
        q = conformal_quantiles(alphas_cal, np.zeros(400, int), 1, level, min_class=10**9)
        ours = (1.0 - P) <= q[0]
        np.testing.assert_array_equal(ours, ref.astype(bool))
        # class-conditional: crepes fitted on each class's calibration scores
        qk = conformal_quantiles(alphas_cal, y_cal, 4, level, min_class=1)
        for k in range(4):
            n = int((y_cal == k).sum())
            ck = crepes.ConformalClassifier().fit(alphas_cal[y_cal == k])
            refk = ck.predict_set((1.0 - P[:, [k]]), confidence=level,
                                  smoothing=False)[:, 0].astype(bool)
            ours = (1.0 - P[:, k]) <= qk[k]
            edge = (n + 1) * (1 - level)
            if abs(edge - round(edge)) < 1e-9:
                # (n+1)(1-level) an integer: crepes tests p > 1 - level in floating point
                # (0.19999999999999996 for 0.8) and so also admits the boundary rank; ours
                # is the textbook ceil((n+1) level)-th score: never larger than crepes'
                assert not (ours & ~refk).any()
            else:
                np.testing.assert_array_equal(ours, refk)


def test_small_classes_fall_back_to_the_marginal_quantile():
    scores = np.r_[np.linspace(0, 0.5, 50), [0.9, 0.95]]
    labels = np.r_[np.zeros(50, int), [1, 1]]
    q = conformal_quantiles(scores, labels, 2, 0.9)
    assert q[1] == q[0] or q[1] == conformal_quantiles(scores, np.zeros(52, int), 1, 0.9)[0]
    assert np.isinf(conformal_quantiles(scores[:3], labels[:3], 2, 0.9)).all()  # too few


@pytest.mark.parametrize("value,low_open", [(0.0, True), (1.5, True), (-0.1, False),
                                            (1.0, False)])
def test_thresholds_outside_their_range_are_refused(value, low_open):
    with pytest.raises(ParameterError, match="must be in"):
        check_threshold(value, "x", low_open=low_open)


# --- the bundled model ------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundled():
    from genrekit import GenreClassifier

    return GenreClassifier.from_pretrained(set_level=0.9)


def test_bundled_model_says_unknown_for_far_away_input(bundled):
    """A pure tone and white noise are nothing like any GTZAN genre: unknown, the closest
    genre kept, novelty at the top of the scale; a set is given too."""
    sr = 16000
    t = np.arange(sr * 9) / sr
    for y in (0.3 * np.sin(2 * np.pi * 440 * t),
              0.1 * np.random.default_rng(0).standard_normal(sr * 9)):
        p = bundled.predict(y, sr=sr)
        assert p.label == UNKNOWN and p.unknown
        assert p.closest in bundled.classes_ and p.score == p.scores[p.closest]
        assert p.novelty > 0.99
        assert p.prediction_set and set(p.prediction_set) <= set(bundled.classes_)
        d = p.to_dict()
        assert d["label"] == "unknown" and d["closest"] == p.closest and "set" in d


def test_bundled_model_explains_with_its_training_songs():
    from genrekit import GenreClassifier

    clf = GenreClassifier.from_pretrained(explain=True)
    sr = 16000
    p = clf.predict(0.2 * np.sin(2 * np.pi * 220 * np.arange(sr * 6) / sr), sr=sr)
    assert len(p.neighbours) == 3
    assert all(n["song"].endswith(".ogg") and n["genre"] in clf.classes_ for n in p.neighbours)
    sims = [n["similarity"] for n in p.neighbours]
    assert sims == sorted(sims, reverse=True) and p.to_dict()["neighbours"][0]["song"]
    assert GenreClassifier.from_pretrained().predict(
        0.2 * np.sin(2 * np.pi * 220 * np.arange(sr * 6) / sr), sr=sr).neighbours is None


def test_bundled_model_can_turn_abstention_off():
    from genrekit import GenreClassifier

    clf = GenreClassifier.from_pretrained(novelty_threshold=1.0, min_confidence=0.0)
    sr = 16000
    p = clf.predict(0.3 * np.sin(2 * np.pi * 440 * np.arange(sr * 6) / sr), sr=sr)
    assert p.label == p.closest != UNKNOWN and p.novelty is not None


def test_model_without_novelty_model_still_predicts(tiny_checkpoint, tmp_path, capsys):
    """No open set: novelty empty, never unknown, and the CLI says so in one line."""
    from conftest import toy_genre, write

    from genrekit import GenreClassifier
    from genrekit.cli import main

    clf = GenreClassifier.load(tiny_checkpoint)
    assert clf.open_set is None and "no novelty model" in clf.open_set_missing
    song = write(tmp_path / "a.wav", toy_genre("tones", 1, seconds=2.0))
    p = clf.predict(song)
    assert p.novelty is None and p.label != UNKNOWN
    # a min confidence the caller gives still applies (the tiny model's top is ~1/3)
    assert GenreClassifier.load(tiny_checkpoint, min_confidence=0.9).predict(song).unknown
    assert main(["predict", str(song), "--model", str(tiny_checkpoint), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["predictions"][0]["novelty"] is None
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "novelty" in warnings[0]


def test_onnx_graph_without_embedding_output_still_predicts(tmp_path):
    """An ONNX file of the bundled model cut back to its probabilities (as exported before
    novelty models): predicts, no novelty, and says why."""
    onnx = pytest.importorskip("onnx")
    from genrekit import GenreClassifier
    from genrekit.inference.classifier import DEFAULT_ONNX

    m = onnx.load(str(DEFAULT_ONNX))
    keep = [o for o in m.graph.output if o.name == "probs"]
    del m.graph.output[:]
    m.graph.output.extend(keep)
    path = tmp_path / "old.onnx"
    onnx.save(m, str(path))
    clf = GenreClassifier.load(path)
    assert clf.open_set is None and "embedding output" in clf.open_set_missing
    sr = 16000
    p = clf.predict(0.3 * np.sin(2 * np.pi * 440 * np.arange(sr * 4) / sr), sr=sr)
    assert p.novelty is None and p.label in clf.classes_


@pytest.mark.parametrize("opt,value", [("--novelty-threshold", "0"),
                                       ("--novelty-threshold", "1.5"),
                                       ("--min-confidence", "1"), ("--min-confidence", "-0.2"),
                                       ("--set", "1"), ("--set", "nan"), ("--top-k", "0"),
                                       ("--tta", "-1")])
def test_out_of_range_options_are_one_line_usage_errors(opt, value, tmp_path, capsys):
    from genrekit.cli import main

    assert main(["predict", str(tmp_path), opt, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and opt in err[0], err
