"""Feature registry and ``compute_features``: one STFT (and one CQT) shared by every channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import ParameterError
from . import spectral as sp


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


@dataclass(frozen=True)
class Feature:
    name: str
    description: str
    height: Callable  # spec -> int
    channel_names: Callable  # spec -> list[str]
    compute: Callable  # _Context -> [k, F, T]

    def channels(self, spec) -> int:
        return len(self.channel_names(spec))


FEATURES: dict[str, Feature] = {}


def register_feature(name, description, height, channel_names):
    def deco(fn):
        FEATURES[name] = Feature(name, description, height, channel_names, fn)
        return fn

    return deco


def list_features() -> list[str]:
    return sorted(FEATURES)


@register_feature("stft", "log-power STFT magnitude in dB", lambda s: 1 + s.n_fft // 2,
                  lambda s: ["stft_db"])
def _stft(ctx):
    return sp.power_to_db(ctx.power, amin=ctx.spec.amin)[None]


@register_feature("mel", "log-mel power in dB", lambda s: s.n_mels, lambda s: ["mel_db"])
def _mel(ctx):
    return ctx.mel[None]


def logc(mel_power):
    """musicnn's "logC" compression, ``log10(1 + 10000 * mel power)``: never -inf, no
    reference level (works on numpy arrays and torch tensors)."""
    return (mel_power * 10000.0 + 1.0).log10() if hasattr(mel_power, "log10") else \
        np.log10(1.0 + 10000.0 * mel_power)


@register_feature("mel_logc", "log10(1 + 10000 * mel power), the input of musicnn",
                  lambda s: s.n_mels, lambda s: ["mel_logc"])
def _mel_logc(ctx):
    return ctx.mel_logc[None]


@register_feature("hpss", "harmonic and percussive log-mel (dB), 2 channels",
                  lambda s: s.n_mels, lambda s: ["harmonic_mel_db", "percussive_mel_db"])
def _hpss(ctx):
    H, P = ctx.hpss
    return np.stack([ctx.mel_db(H ** 2), ctx.mel_db(P ** 2)])


@register_feature("mfcc", "MFCC from the log-mel (DCT-II ortho); with deltas 3 channels",
                  lambda s: s.n_mfcc,
                  lambda s: ["mfcc", "mfcc_delta", "mfcc_delta2"] if s.mfcc_deltas else ["mfcc"])
def _mfcc(ctx):
    m = sp.mfcc_from_db(ctx.mel, n_mfcc=ctx.spec.n_mfcc)
    if not ctx.spec.mfcc_deltas:
        return m[None]
    return np.stack([m, sp.deltas(m, order=1), sp.deltas(m, order=2)])


@register_feature("cqt", "constant-Q magnitude in dB", lambda s: s.cqt_bins, lambda s: ["cqt_db"])
def _cqt(ctx):
    return sp.power_to_db(ctx.cqt ** 2, amin=ctx.spec.amin)[None]


@register_feature("chroma_stft", "chroma from the STFT power", lambda s: s.n_chroma,
                  lambda s: ["chroma_stft"])
def _chroma_stft(ctx):
    s = ctx.spec
    return sp.chroma_from_power(ctx.power, sr=s.sr, n_fft=s.n_fft, n_chroma=s.n_chroma)[None]


@register_feature("chroma_cqt", "chroma from the CQT magnitude", lambda s: s.n_chroma,
                  lambda s: ["chroma_cqt"])
def _chroma_cqt(ctx):
    s = ctx.spec
    return sp.chroma_from_cqt(ctx.cqt, sr=s.sr, hop_length=s.hop_length, fmin=s.cqt_fmin,
                              bins_per_octave=s.cqt_bins_per_octave, n_chroma=s.n_chroma)[None]


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


BACKENDS = {"fast": _FastContext, "reference": _Context, "torch": None}
DEFAULT_BACKEND = "fast"


#: Bump a backend's number when its output changes: it is part of every cache key, so
#: cached features of different backends or versions never mix silently.
BACKEND_VERSIONS = {"fast": 3, "torch": 1, "reference": 1}


def backend_version(backend: str) -> str:
    """A tag for cache keys (imports nothing heavy)."""
    return f"{backend}{BACKEND_VERSIONS[backend]}"


def compute_features(y: np.ndarray, sr: int, spec=None, *,
                     backend: str = DEFAULT_BACKEND) -> np.ndarray:
    """Compute the stacked channels of ``spec`` for mono audio ``y`` at rate ``sr``.

    Audio at another rate is resampled to ``spec.sr`` first (never assumed).
    ``backend``: ``"fast"`` (default: float32 STFT, numba sliding-median HPSS; within 1e-3
    dB of the reference), ``"reference"`` (librosa's own functions) or ``"torch"`` (stft, mel,
    hpss, mfcc on the CPU here; ``features.torch_backend.TorchFeatures`` for GPU batches).

    Returns:
        float32 ``[C, F, T]`` with ``C = spec.n_channels``, ``F = spec.height`` and
        ``T = 1 + len(y_resampled) // hop_length``.
    """
    from .spec import FeatureSpec

    spec = spec or FeatureSpec()
    if backend not in BACKENDS:
        raise ParameterError(f"unknown feature backend {backend!r} "
                             f"(known: {', '.join(BACKENDS)})")
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
    ctx = BACKENDS[backend](y, spec)
    blocks = [FEATURES[n].compute(ctx) for n in spec.names]
    T = min(b.shape[-1] for b in blocks)
    return np.ascontiguousarray(np.concatenate([b[..., :T] for b in blocks]), dtype=np.float32)
