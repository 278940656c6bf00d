"""The bundled model's input, ``mel_logc``, in numpy alone (no numba, scipy or librosa): the
front end of a prediction-only install (issue 18). Same framing, window, float64 FFT
rounded to complex64, Slaney mel filterbank and ``log10(1 + 10000 * power)`` as the fast
backend, so the two agree to float32 rounding (tests/test_numpy_frontend.py)."""

from __future__ import annotations

import numpy as np

from .filters import mel_filterbank, windowed_frames


def stft_power(y: np.ndarray, *, n_fft: int, hop_length: int, win_length: int | None = None,
               window: str = "hann", center: bool = True, pad_mode: str = "constant",
               block: int = 256) -> np.ndarray:
    """|STFT|^2 as float32 ``[1 + n_fft//2, T]`` (librosa's framing), ``block`` frames at
    a time so the work stays in cache."""
    frames, w = windowed_frames(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                window=window, center=center, pad_mode=pad_mode)
    out = np.empty((n_fft // 2 + 1, len(frames)), dtype=np.float32)
    for b in range(0, len(frames), block):
        spec = np.fft.rfft(frames[b:b + block] * w, axis=1).astype(np.complex64)
        out[:, b:b + block] = (np.abs(spec) ** 2).T
    return out


def mel_logc(y: np.ndarray, spec) -> np.ndarray:
    """``[1, n_mels, T]`` float32 ``mel_logc`` of mono ``y`` already at ``spec.sr``."""
    P = stft_power(y, n_fft=spec.n_fft, hop_length=spec.hop_length,
                   win_length=spec.win_length, window=spec.window, center=spec.center,
                   pad_mode=spec.pad_mode)
    fb = mel_filterbank(sr=spec.sr, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin,
                        fmax=spec.fmax).astype(np.float32)
    return np.log10(1.0 + 10000.0 * (fb @ P))[None].astype(np.float32)
