"""Property-based tests (hypothesis): decoding, features and prediction on arbitrary sample
rates, lengths, channel counts and values (NaN/inf, huge, silent). Each either gives a
well-formed result or raises genrekit's typed error; nothing else, never a hang."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genrekit.audio import load_audio
from genrekit.errors import AudioLoadError, GenrekitError, ParameterError
from genrekit.features import FeatureSpec, compute_features

pytestmark = pytest.mark.timeout(300)

RATES = st.sampled_from([4000, 8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000])
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def signals(draw, max_seconds=1.5):
    sr = draw(RATES)
    n = draw(st.integers(0, int(max_seconds * sr)))
    ch = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["noise", "silent", "huge", "dc", "nan", "inf"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    y = rng.uniform(-1, 1, (n, ch)).astype(np.float32)
    if kind == "silent":
        y[:] = 0
    elif kind == "huge":
        y *= 1e6
    elif kind == "dc":
        y[:] = 0.25
    elif kind in ("nan", "inf") and n:
        y[rng.integers(n), 0] = np.nan if kind == "nan" else np.inf
    return y, sr, kind


@SETTINGS
@given(sig=signals(), target=st.sampled_from([None, 16000, 22050]))
def test_decoding_gives_mono_float32_in_range_or_a_typed_error(tmp_path, sig, target):
    import soundfile as sf

    y, sr, kind = sig
    path = tmp_path / "x.wav"
    sf.write(path, y, sr, subtype="FLOAT")
    try:
        out, out_sr = load_audio(path, sr=target)
    except AudioLoadError as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    assert kind not in ("nan", "inf")
    assert out.dtype == np.float32 and out.ndim == 1 and np.all(np.isfinite(out))
    assert out_sr == (target or sr)
    assert np.abs(out).max(initial=0) <= 1.0 + 1e-3  # full scale, whatever the file held
    assert abs(len(out) - len(y) * out_sr / sr) <= 2 + 0.01 * len(out)


@SETTINGS
@given(sig=signals(max_seconds=1.0),
       names=st.sampled_from([("mel",), ("mfcc",), ("mel", "hpss"), ("mel_logc",)]))
def test_features_are_finite_and_shaped_or_refused(sig, names):
    y, sr, kind = sig
    spec = FeatureSpec(names=names, sr=16000, n_fft=512, hop_length=256, n_mels=32)
    try:
        X = compute_features(y[:, 0], sr, spec)
    except ParameterError:
        assert kind in ("nan", "inf") or len(y) == 0
        return
    assert X.dtype == np.float32 and np.all(np.isfinite(X))
    assert X.shape[:2] == (spec.n_channels, spec.height)


@SETTINGS
@given(sig=signals())
def test_prediction_of_any_array_is_a_distribution_or_a_typed_error(tiny_clf, sig):
    y, sr, kind = sig
    try:
        p = tiny_clf.predict(y.T, sr=sr)
    except GenrekitError as exc:
        assert isinstance(exc, (AudioLoadError, ParameterError))
        return
    assert kind in ("noise", "huge")
    assert abs(sum(p.scores.values()) - 1) < 1e-4 and p.label in tiny_clf.classes_


@pytest.fixture(scope="module")
def tiny_clf(tiny_checkpoint):
    from genrekit.inference.classifier import load_classifier

    return load_classifier(tiny_checkpoint)
