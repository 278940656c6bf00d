"""The STFT power of the ``numpy`` feature backend (``compute._NumpyContext``): numpy alone,
no numba, scipy or librosa, the front end of a prediction-only install. Same framing,
window and float64 FFT rounded to complex64 as the fast backend, so the stft, mel and
``mel_logc`` channels agree with it to float32 rounding (tests/test_numpy_frontend.py)."""

from __future__ import annotations

import numpy as np

from .filters import windowed_frames


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
