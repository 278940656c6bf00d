import numpy as np
import pytest

from genrekit.errors import ParameterError
from genrekit.inference.aggregate import aggregate


def test_confidence_weighting_favours_confident_slices():
    # one very sure slice for class 0, six unsure slices leaning to class 1
    P = np.array([[0.96, 0.02, 0.02]] + [[0.20, 0.50, 0.30]] * 6)
    assert aggregate(P, "mean").argmax() == 1
    w = aggregate(P, "confidence")
    assert w.argmax() == 0
    conf = P.max(1) - 1 / 3
    np.testing.assert_allclose(w, (conf[:, None] * P).sum(0) / conf.sum(), rtol=1e-6)
    assert aggregate(P, "vote").argmax() == 1


def test_single_slice_and_sums():
    P = np.array([[0.1, 0.7, 0.2]])
    for rule in ("confidence", "mean", "vote"):
        s = aggregate(P, rule)
        assert s.argmax() == 1 and s.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(aggregate(P, "confidence"), P[0], rtol=1e-6)


def test_ties():
    uniform = np.full((3, 4), 0.25)  # every slice uniform: confidence falls back to the mean
    np.testing.assert_allclose(aggregate(uniform, "confidence"), [0.25] * 4, rtol=1e-6)
    P = np.array([[0.6, 0.4], [0.45, 0.55]])  # one vote each: the mean breaks the tie
    assert aggregate(P, "vote").argmax() == 0


def test_errors():
    with pytest.raises(ParameterError, match="unknown aggregation rule 'max'"):
        aggregate(np.ones((1, 2)) / 2, "max")
    with pytest.raises(ParameterError, match=r"probs must be \[N>0, K\]"):
        aggregate(np.zeros((0, 3)))
