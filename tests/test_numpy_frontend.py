"""The numpy feature backend (what prediction computes) against the fast backend and
musicnn's own input; it imports neither numba nor scipy (a prediction-only install uses it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import chirp, noise, tone

from genrekit.errors import ParameterError
from genrekit.features import FeatureSpec, compute_features
from genrekit.features.registry import inference_backend

pytestmark = pytest.mark.numeric  # float parity: rerun under another BLAS/oneDNN kernel

SPEC = FeatureSpec(names=("mel_logc",), sr=16000, n_fft=512, hop_length=256, n_mels=96)


@pytest.mark.parametrize("make", [tone, chirp, noise])
def test_same_features_as_the_fast_backend(make):
    y = make(seconds=3.0, sr=16000)
    want = compute_features(y, 16000, SPEC, backend="fast")
    got = compute_features(y, 16000, SPEC, backend="numpy")
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.parametrize("make", [tone, noise])
def test_db_channels_within_a_thousandth_of_a_db(make):
    spec = FeatureSpec(names=("mel", "stft"), n_mels=1025, n_fft=2048)  # one height
    y = make(seconds=2.0, sr=22050)
    want = compute_features(y, 22050, spec, backend="fast")
    got = compute_features(y, 22050, spec, backend="numpy")
    assert np.abs(got - want).max() <= 1e-3


def test_musicnns_own_input_from_the_recorded_clip():
    ref = np.load(Path(__file__).parent / "data" / "musicnn_msd_reference.npz")
    X = compute_features(ref["clip"].astype(np.float32) / 32768, 16000, SPEC, backend="numpy")
    np.testing.assert_allclose(X[0, :, :187].T, ref["input"][1], atol=2e-3)


def test_refuses_what_it_does_not_compute():
    with pytest.raises(ParameterError, match="numpy feature backend.*not hpss"):
        compute_features(tone(seconds=1.0), 22050, FeatureSpec(names=("mel", "hpss")),
                         backend="numpy")


def test_prediction_uses_it_where_it_can():
    assert inference_backend(SPEC) == "numpy"
    assert inference_backend(FeatureSpec(names=("mel", "hpss"))) == "fast"


def test_imports_neither_numba_nor_scipy():
    code = ("import sys, numpy as np; from genrekit.features import FeatureSpec, "
            "compute_features;"
            "compute_features(np.ones(16000, np.float32) * 0.1, 16000, FeatureSpec("
            "names=('mel_logc',), sr=16000, n_fft=512, hop_length=256, n_mels=96), "
            "backend='numpy');"
            "print([m for m in ('numba', 'scipy', 'librosa', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_features_compute_with_one_blas_thread_and_restore_it(monkeypatch):
    """BLAS workers left spinning after the mel product slowed the model that runs next."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from genrekit.features import compute
    from genrekit.features.spec import FeatureSpec

    seen = []
    real = compute.FEATURES["mel_logc"]

    class Spy:
        def __getattr__(self, name):
            return getattr(real, name)

        def compute(self, ctx):
            seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
            return real.compute(ctx)

    monkeypatch.setitem(compute.FEATURES, "mel_logc", Spy())
    spec = FeatureSpec(names=("mel_logc",), sr=16000, n_fft=512, hop_length=256, n_mels=96)
    with threadpool_limits(2, user_api="blas"):
        compute.compute_features(np.ones(16000, np.float32) * 0.1, 16000, spec,
                                 backend="numpy")
        after = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    assert seen == [{1}] and after == {2}
