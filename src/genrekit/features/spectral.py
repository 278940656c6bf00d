"""Reference spectral features: pure functions on numpy arrays, built on librosa.

Shapes: ``y`` is mono float32 ``[n]``; spectrograms are ``[F, T]`` with
``T = 1 + n // hop_length`` (centered frames). Decibels use a *fixed* reference of 1.0
(``10*log10(max(amin, power))``), never the clip's own maximum, and no ``top_db`` clipping
relative to the clip's peak: a slice's values depend only on its own audio.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def stft_magnitude(y: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512,
                   win_length: int | None = None, window: str = "hann", center: bool = True,
                   pad_mode: str = "constant") -> np.ndarray:
    """|STFT| as float32 ``[1 + n_fft//2, T]`` (linear amplitude)."""
    import librosa

    D = librosa.stft(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                     window=window, center=center, pad_mode=pad_mode)
    return np.abs(D).astype(np.float32)


def power_to_db(S: np.ndarray, *, amin: float = 1e-10) -> np.ndarray:
    """Power -> dB with the fixed reference 1.0: ``10*log10(max(amin, S))``, float32."""
    return (10.0 * np.log10(np.maximum(amin, S))).astype(np.float32)


@lru_cache(maxsize=32)
def librosa_mel_filterbank(*, sr: int, n_fft: int, n_mels: int, fmin: float,
                           fmax: float | None) -> np.ndarray:
    """librosa's own Slaney mel filterbank ``[n_mels, 1 + n_fft//2]`` (float32)."""
    import librosa

    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                             htk=False, norm="slaney", dtype=np.float32)
    fb.setflags(write=False)
    return fb


def mel_power(S_power: np.ndarray, *, sr: int, n_fft: int, n_mels: int = 128,
              fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Project a power spectrogram ``[1 + n_fft//2, T]`` onto mel bands: ``[n_mels, T]``."""
    from .filters import mel_filterbank

    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return (fb @ S_power).astype(np.float32)


def hpss_magnitudes(S: np.ndarray, *, kernel_size: int = 31, power: float = 2.0,
                    margin: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Median-filter harmonic/percussive separation of a magnitude spectrogram.

    librosa's definition: harmonic = median over time, percussive = median over frequency
    (``kernel_size`` each, reflect borders), soft Wiener masks with exponent ``power``.
    Returns ``(H, P)`` magnitudes, float32 ``[F, T]`` each.
    """
    import librosa

    H, P = librosa.decompose.hpss(S, kernel_size=kernel_size, power=power, margin=margin)
    return H.astype(np.float32), P.astype(np.float32)


def mfcc_from_db(mel_db: np.ndarray, *, n_mfcc: int = 20) -> np.ndarray:
    """DCT-II (orthonormal) of a log-mel ``[n_mels, T]``: ``[n_mfcc, T]``."""
    import scipy.fft

    return scipy.fft.dct(mel_db, axis=0, type=2, norm="ortho")[:n_mfcc].astype(np.float32)


def deltas(X: np.ndarray, *, order: int = 1, width: int = 9) -> np.ndarray:
    """Savitzky-Golay derivative along time (librosa.feature.delta, interp edges)."""
    import librosa

    if X.shape[-1] < 3:
        return np.zeros_like(X)
    width = min(width, X.shape[-1] if X.shape[-1] % 2 else X.shape[-1] - 1)
    width = max(width, 3)
    return librosa.feature.delta(X, order=order, width=width, axis=-1).astype(np.float32)


def cqt_magnitude(y: np.ndarray, *, sr: int, hop_length: int = 512, fmin: float = 32.70319566,
                  n_bins: int = 84, bins_per_octave: int = 12) -> np.ndarray:
    """|CQT| (librosa.cqt, Hann filters, L1 norm), float32 ``[n_bins, T]``."""
    import librosa

    C = librosa.cqt(y, sr=sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                    bins_per_octave=bins_per_octave)
    return np.abs(C).astype(np.float32)


def chroma_from_power(S_power: np.ndarray, *, sr: int, n_fft: int,
                      n_chroma: int = 12) -> np.ndarray:
    """STFT chroma (librosa.feature.chroma_stft from a power spectrogram), ``[n_chroma, T]``.

    Tuning is fixed at 0 (A440): librosa would estimate it from the whole clip, which
    would make a slice's chroma depend on the rest of the song.
    """
    import librosa

    return librosa.feature.chroma_stft(S=S_power, sr=sr, n_fft=n_fft, n_chroma=n_chroma,
                                       tuning=0.0).astype(np.float32)


def chroma_from_cqt(C: np.ndarray, *, sr: int, hop_length: int, fmin: float,
                    bins_per_octave: int, n_chroma: int = 12) -> np.ndarray:
    """CQT chroma (librosa.feature.chroma_cqt from a CQT magnitude), ``[n_chroma, T]``."""
    import librosa

    return librosa.feature.chroma_cqt(C=C, sr=sr, hop_length=hop_length, fmin=fmin,
                                      bins_per_octave=bins_per_octave,
                                      n_chroma=n_chroma).astype(np.float32)
