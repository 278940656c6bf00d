"""Windows and mel filterbanks in plain numpy (librosa's definitions), so the fast path
needs no librosa/scipy.signal import: a faster cold start. Parity tests compare them with
librosa's own."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz ...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # ... logarithmic above


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= _MIN_LOG_HZ,
                    _MIN_LOG_MEL + np.log(np.maximum(f, 1e-12) / _MIN_LOG_HZ) / _LOGSTEP,
                    f / _F_SP)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)),
                    _F_SP * m)


@lru_cache(maxsize=32)
def mel_filterbank(*, sr: int, n_fft: int, n_mels: int, fmin: float,
                   fmax: float | None) -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangles ``[n_mels, 1 + n_fft//2]`` (float32), as
    ``librosa.filters.mel(htk=False, norm='slaney')``."""
    fmax = sr / 2 if fmax is None else fmax
    fftfreqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    fb = weights.astype(np.float32)
    fb.setflags(write=False)
    return fb


@lru_cache(maxsize=8)
def stft_window(window: str, win_length: int, n_fft: int) -> np.ndarray:
    """Periodic window of ``win_length`` centred in ``n_fft`` (float64, read-only)."""
    if window == "hann":
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win_length) / win_length)
    else:
        import librosa

        w = librosa.filters.get_window(window, win_length, fftbins=True)
    left = (n_fft - win_length) // 2
    w = np.pad(np.asarray(w, dtype=np.float64), (left, n_fft - win_length - left))
    w.setflags(write=False)
    return w


def windowed_frames(y: np.ndarray, *, n_fft: int, hop_length: int,
                    win_length: int | None = None, window: str = "hann", center: bool = True,
                    pad_mode: str = "constant") -> tuple[np.ndarray, np.ndarray]:
    """librosa's STFT framing: ``(frames [T, n_fft]`` (a strided float32 view of the padded
    signal), ``window [n_fft])``; multiply a block of frames by the window, then rfft."""
    y = np.asarray(y, dtype=np.float32)
    if center:
        y = np.pad(y, n_fft // 2, mode=pad_mode)
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop_length]
    return frames, stft_window(window, win_length or n_fft, n_fft)
