"""Feature registry: each channel's name, height, channel names and how it is computed from
the shared intermediates of a clip (``compute._Context``); the backends' names and versions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import spectral as sp


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


#: The feature backends (``compute.compute_features(..., backend=)``).
BACKEND_NAMES = ("fast", "numpy", "reference", "torch")
DEFAULT_BACKEND = "fast"
#: What the numpy backend computes (numpy alone: the prediction runtime's front end).
NUMPY_FEATURES = frozenset({"stft", "mel", "mel_logc"})


#: Bump a backend's number when its output changes: it is part of every cache key, so
#: cached features of different backends or versions never mix silently.
BACKEND_VERSIONS = {"fast": 3, "numpy": 1, "torch": 1, "reference": 1}


def inference_backend(spec) -> str:
    """The CPU backend prediction computes ``spec`` on: ``numpy`` where it can (no numba
    or scipy import, the same numbers in a base install and a full one), else ``fast``."""
    return "numpy" if set(spec.names) <= NUMPY_FEATURES else "fast"


def backend_version(backend: str) -> str:
    """A tag for cache keys (imports nothing heavy)."""
    return f"{backend}{BACKEND_VERSIONS[backend]}"
