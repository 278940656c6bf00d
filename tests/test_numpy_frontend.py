"""The numpy-only mel_logc front end against the fast backend and musicnn's own input, and
it imports neither numba nor scipy (a prediction-only install can use it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import chirp, noise, tone

from genrekit.features import FeatureSpec, compute_features
from genrekit.features.numpy_frontend import mel_logc

SPEC = FeatureSpec(names=("mel_logc",), sr=16000, n_fft=512, hop_length=256, n_mels=96)


@pytest.mark.parametrize("make", [tone, chirp, noise])
def test_same_features_as_the_fast_backend(make):
    y = make(seconds=3.0, sr=16000)
    want = compute_features(y, 16000, SPEC, backend="fast")
    got = mel_logc(y, SPEC)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_musicnns_own_input_from_the_recorded_clip():
    ref = np.load(Path(__file__).parent / "data" / "musicnn_msd_reference.npz")
    X = mel_logc(ref["clip"].astype(np.float32) / 32768, SPEC)
    np.testing.assert_allclose(X[0, :, :187].T, ref["input"][1], atol=2e-3)


def test_imports_neither_numba_nor_scipy():
    code = ("import sys, numpy as np; from genrekit.features.numpy_frontend import mel_logc;"
            "from genrekit.features import FeatureSpec;"
            "mel_logc(np.ones(16000, np.float32) * 0.1, FeatureSpec(names=('mel_logc',),"
            " sr=16000, n_fft=512, hop_length=256, n_mels=96));"
            "print([m for m in ('numba', 'scipy', 'librosa', 'torch') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
