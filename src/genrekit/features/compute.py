"""``compute_features``: one STFT (and one CQT) per clip, shared by every channel of the
stack, on the chosen backend."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..errors import ParameterError
from . import spectral as sp
from .parallel import one_blas_thread
from .registry import BACKEND_NAMES, DEFAULT_BACKEND, FEATURES, NUMPY_FEATURES, logc
from .spec import FeatureSpec


class _Context:
    """Lazily computed intermediates of one clip, shared by all requested channels: one
    STFT (and one CQT) per clip, whatever the stack. This one is the librosa reference."""

    def __init__(self, y: np.ndarray, spec):
        self.y, self.spec = y, spec

    def _stft(self, y, **kw):
        return sp.stft_magnitude(y, **kw)

    def _hpss(self, S, **kw):
        return sp.hpss_magnitudes(S, **kw)

    @cached_property
    def magnitude(self) -> np.ndarray:
        s = self.spec
        return self._stft(self.y, n_fft=s.n_fft, hop_length=s.hop_length,
                          win_length=s.win_length, window=s.window, center=s.center,
                          pad_mode=s.pad_mode)

    @cached_property
    def hpss(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.spec
        return self._hpss(self.magnitude, kernel_size=s.hpss_kernel, power=s.hpss_power,
                          margin=s.hpss_margin)

    @cached_property
    def power(self) -> np.ndarray:
        return self.magnitude ** 2

    def _mel_power(self, S_power: np.ndarray) -> np.ndarray:
        s = self.spec
        return sp.mel_power(S_power, sr=s.sr, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin,
                            fmax=s.fmax)

    def mel_db(self, S_power: np.ndarray) -> np.ndarray:
        return sp.power_to_db(self._mel_power(S_power), amin=self.spec.amin)

    @cached_property
    def mel(self) -> np.ndarray:
        return self.mel_db(self.power)

    @cached_property
    def mel_logc(self) -> np.ndarray:
        return logc(self._mel_power(self.power))

    @cached_property
    def cqt(self) -> np.ndarray:
        s = self.spec
        return sp.cqt_magnitude(self.y, sr=s.sr, hop_length=s.hop_length, fmin=s.cqt_fmin,
                                n_bins=s.cqt_bins, bins_per_octave=s.cqt_bins_per_octave)


class _FastContext(_Context):
    """Blocked STFT, numba sliding-median HPSS with fused masks and a banded mel projection
    (``features.fast``); the rest shared with the reference."""

    def _stft(self, y, **kw):
        from . import fast

        return fast.stft_magnitude(y, **kw)

    def _hpss(self, S, **kw):
        from . import fast

        if kw["kernel_size"] % 2 == 0:  # the incremental median is for odd windows
            return sp.hpss_magnitudes(S, **kw)
        return fast.hpss_magnitudes(S, **kw)

    def _mel_power(self, S_power):
        from . import fast
        from .filters import mel_filterbank

        s = self.spec
        fb = mel_filterbank(sr=s.sr, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin, fmax=s.fmax)
        return fast.mel_power(S_power, fb)


class _NumpyContext(_Context):
    """numpy alone (no numba, scipy or librosa): the front end of a prediction-only install.
    The same framing, window, float64 FFT rounded to complex64 and Slaney filterbank as the
    fast backend, so the two agree to float32 rounding; only ``NUMPY_FEATURES``."""

    @cached_property
    def power(self) -> np.ndarray:
        from .numpy_frontend import stft_power

        s = self.spec
        return stft_power(self.y, n_fft=s.n_fft, hop_length=s.hop_length,
                          win_length=s.win_length, window=s.window, center=s.center,
                          pad_mode=s.pad_mode)

    def _mel_power(self, S_power):
        from .filters import mel_filterbank

        s = self.spec
        return mel_filterbank(sr=s.sr, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin,
                              fmax=s.fmax) @ S_power


#: The context class of each CPU backend ("torch" runs ``torch_backend``).
CONTEXTS = {"fast": _FastContext, "reference": _Context, "numpy": _NumpyContext}


def compute_features(y: np.ndarray, sr: int, spec=None, *,
                     backend: str = DEFAULT_BACKEND) -> np.ndarray:
    """Compute the stacked channels of ``spec`` for mono audio ``y`` at rate ``sr``.

    Audio at another rate is resampled to ``spec.sr`` first (never assumed).
    ``backend``: ``"fast"`` (default: float32 STFT, numba sliding-median HPSS; within 1e-3
    dB of the reference), ``"numpy"`` (stft, mel and mel_logc in numpy alone, equal to
    "fast" to float32 rounding: what prediction runs), ``"reference"`` (librosa's own
    functions) or ``"torch"`` (stft, mel, hpss, mfcc on the CPU here;
    ``features.torch_backend.TorchFeatures`` for GPU batches). On the CPU backends numpy's
    BLAS runs on one thread (see :func:`features.parallel.one_blas_thread`).

    Returns:
        float32 ``[C, F, T]`` with ``C = spec.n_channels``, ``F = spec.height`` and
        ``T = 1 + len(y_resampled) // hop_length``.
    """
    spec = spec or FeatureSpec()
    if backend not in BACKEND_NAMES:
        raise ParameterError(f"unknown feature backend {backend!r} "
                             f"(known: {', '.join(BACKEND_NAMES)})")
    if backend == "numpy" and not set(spec.names) <= NUMPY_FEATURES:
        raise ParameterError(f"the numpy feature backend computes "
                             f"{', '.join(sorted(NUMPY_FEATURES))} only, not "
                             f"{', '.join(sorted(set(spec.names) - NUMPY_FEATURES))}; use "
                             "backend 'fast' (the train extra)")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ParameterError(f"y must be mono [n], got shape {y.shape}; downmix first")
    if y.size == 0:
        raise ParameterError("y is empty: no samples to compute features from")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y contains NaN or infinity")
    y = y.astype(np.float32, copy=False)
    if sr != spec.sr:
        from ..audio import resample

        y = resample(y, sr, spec.sr)
    if backend == "torch":
        from .torch_backend import compute_torch

        return compute_torch(y, spec)
    with one_blas_thread():  # its spinning workers would slow the model that runs next
        ctx = CONTEXTS[backend](y, spec)
        blocks = [FEATURES[n].compute(ctx) for n in spec.names]
    T = min(b.shape[-1] for b in blocks)
    return np.ascontiguousarray(np.concatenate([b[..., :T] for b in blocks]), dtype=np.float32)
