"""Fast CPU backend: blocked STFT, HPSS with incremental sliding-window medians (numba),
fused soft masks and a banded mel projection.

librosa's HPSS spends almost all its time in two ``scipy.ndimage.median_filter`` calls,
which sort every 31-sample window from scratch. Here each row keeps its window sorted and
updates it per step (drop the outgoing value, insert the incoming one: two binary searches
and one shift), rows in parallel. Borders follow scipy's ``mode='reflect'``
(``d c b a | a b c d | d c b a``), as librosa uses. The medians are exact: values are only
compared and moved, never computed, so they equal scipy's bit for bit on the same input.
"""

from __future__ import annotations

import numba
import numpy as np

from .filters import windowed_frames
from .parallel import PARALLEL as _PARALLEL  # the flag pool.single_core sets, numba-free
from .parallel import is_parallel, set_parallel  # noqa: F401  (this module's API)


@numba.njit(cache=True, nogil=True, inline="always")
def _search(win, n, v):
    """First index in sorted ``win[:n]`` whose value is >= v."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if win[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, nogil=True, inline="always")
def _count_below(win, k, v):
    """How many of ``win[:k]`` are < v: a branch-free count the compiler vectorises; for a
    sorted window it equals the binary search's answer, without its mispredictions."""
    c = 0
    for j in range(k):
        c += win[j] < v
    return c


@numba.njit(cache=True, nogil=True, inline="always")
def _reflect(i, n):
    """scipy's 'reflect' index map, repeated for windows longer than the row."""
    m = i % (2 * n)
    if m < 0:
        m += 2 * n
    return 2 * n - 1 - m if m >= n else m


@numba.njit(cache=True, nogil=True)
def _median_row(x, k, out, win):
    n = x.shape[0]
    h = k // 2
    for j in range(k):  # fill the first window (the padded row is read through _reflect)
        v = x[_reflect(j - h, n)]
        p = _search(win, j, v)
        for q in range(j, p, -1):
            win[q] = win[q - 1]
        win[p] = v
    out[0] = win[h]
    for t in range(1, n):
        i_old, i_new = t - 1 - h, t + h
        if i_old < 0 or i_new >= n:  # borders only: the interior needs no index map
            i_old, i_new = _reflect(i_old, n), _reflect(i_new, n)
        old, new = x[i_old], x[i_new]
        if old != new:
            # old sits at the first index >= old; slide new from there to its place
            i = _count_below(win, k, old)  # old's index (the first >= old)
            if new > old:  # slide new right past the values in (old, new)
                while i + 1 < k and win[i + 1] < new:
                    win[i] = win[i + 1]
                    i += 1
            else:  # slide new left past the values in (new, old)
                while i > 0 and win[i - 1] > new:
                    win[i] = win[i - 1]
                    i -= 1
            win[i] = new
        out[t] = win[h]


@numba.njit(cache=True, nogil=True, parallel=True)
def _median_rows_par(X, k, out):
    for r in numba.prange(X.shape[0]):
        _median_row(X[r], k, out[r], np.empty(k, dtype=X.dtype))


@numba.njit(cache=True, nogil=True)
def _median_rows_ser(X, k, out):
    win = np.empty(k, dtype=X.dtype)
    for r in range(X.shape[0]):
        _median_row(X[r], k, out[r], win)


def median_filter_rows(X, k):
    """Median of every ``k``-wide window along the last axis of ``X [R, N]`` (k odd),
    reflect borders; float32 ``[R, N]``."""
    X = np.ascontiguousarray(X)
    out = np.empty_like(X)
    (_median_rows_par if _PARALLEL[0] else _median_rows_ser)(X, k, out)
    return out


def stft_magnitude(y: np.ndarray, *, n_fft: int = 2048, hop_length: int = 512,
                   win_length: int | None = None, window: str = "hann", center: bool = True,
                   pad_mode: str = "constant", block: int = 128) -> np.ndarray:
    """|STFT| as float32 ``[1 + n_fft//2, T]`` with librosa's framing and window.

    Like librosa, the windowed frames are transformed in float64 and rounded to complex64
    (a float32 FFT's rounding, ~1e-7 of the loudest bin, would move quiet bins of a loud
    clip by more than 1e-3 dB); ``block`` frames at a time, so the work stays in cache.
    """
    import scipy.fft

    frames, w = windowed_frames(y, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                window=window, center=center, pad_mode=pad_mode)
    out = np.empty((n_fft // 2 + 1, len(frames)), dtype=np.float32)
    for b in range(0, len(frames), block):
        spec = scipy.fft.rfft(frames[b:b + block] * w, axis=1)
        out[:, b:b + block] = np.abs(spec.astype(np.complex64)).T
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _pow(x, power):
    return x * x if power == 2.0 else x ** power


@numba.njit(cache=True, nogil=True, inline="always")
def _masks_row(S, harm, perc, power, margin, H, P):
    """librosa's soft masks (``split_zeros=False``) applied to one row of ``S``:
    ``H = S * h^p / (h^p + (m*p)^p)``, ``P`` likewise; 0 where both medians are 0."""
    tiny = np.float32(1.1754944e-38)
    for t in range(S.shape[0]):
        h, p = harm[t], perc[t]
        zh = max(h, p * margin)  # Z of the harmonic mask (X=h, X_ref=p*margin)
        zp = max(p, h * margin)
        if zh < tiny:
            H[t] = 0.0
        else:
            a, r = _pow(h / zh, power), _pow(p * margin / zh, power)
            H[t] = S[t] * (a / (a + r))
        if zp < tiny:
            P[t] = 0.0
        else:
            a, r = _pow(p / zp, power), _pow(h * margin / zp, power)
            P[t] = S[t] * (a / (a + r))


@numba.njit(cache=True, nogil=True, parallel=True)
def _masks_par(S, harm, perc, power, margin, H, P):
    for f in numba.prange(S.shape[0]):
        _masks_row(S[f], harm[f], perc[f], power, margin, H[f], P[f])


@numba.njit(cache=True, nogil=True)
def _masks_ser(S, harm, perc, power, margin, H, P):
    for f in range(S.shape[0]):
        _masks_row(S[f], harm[f], perc[f], power, margin, H[f], P[f])


def _soft_masks(S, harm, perc, power, margin):
    H, P = np.empty_like(S), np.empty_like(S)
    (_masks_par if _PARALLEL[0] else _masks_ser)(S, harm, perc, power, margin, H, P)
    return H, P


def hpss_magnitudes(S: np.ndarray, *, kernel_size: int = 31, power: float = 2.0,
                    margin: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """librosa.decompose.hpss on a magnitude ``S [F, T]``: harmonic = median over time,
    percussive = median over frequency, soft masks ``X^p / (X^p + R^p)``; ``(H, P)``."""
    from ..errors import ParameterError

    if kernel_size % 2 == 0:
        raise ParameterError(f"fast HPSS needs an odd kernel_size, got {kernel_size}")
    S = np.ascontiguousarray(S, dtype=np.float32)
    harm = median_filter_rows(S, kernel_size)
    perc = np.ascontiguousarray(median_filter_rows(np.ascontiguousarray(S.T), kernel_size).T)
    return _soft_masks(S, harm, perc, np.float32(power), np.float32(margin))


@numba.njit(cache=True, nogil=True, inline="always")
def _band_row(w_row, lo, hi, X, out_row):
    for f in range(lo, hi):
        w = w_row[f]
        for t in range(X.shape[1]):
            out_row[t] += w * X[f, t]


@numba.njit(cache=True, nogil=True, parallel=True)
def _band_par(weights, lo, hi, X, out):
    for m in numba.prange(weights.shape[0]):
        _band_row(weights[m], lo[m], hi[m], X, out[m])


@numba.njit(cache=True, nogil=True)
def _band_ser(weights, lo, hi, X, out):
    for m in range(weights.shape[0]):
        _band_row(weights[m], lo[m], hi[m], X, out[m])


def _band_project(weights, lo, hi, X):
    """``weights @ X`` for a banded ``weights [M, F]`` (row m nonzero in ``lo[m]:hi[m]``)."""
    out = np.zeros((weights.shape[0], X.shape[1]), dtype=np.float32)
    (_band_par if _PARALLEL[0] else _band_ser)(weights, lo, hi, X, out)
    return out


def mel_power(S_power: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """Mel projection that skips the filterbank's zeros (each triangle spans few bins)."""
    nz = fb != 0
    lo = np.where(nz.any(1), nz.argmax(1), 0).astype(np.int64)
    hi = np.where(nz.any(1), fb.shape[1] - nz[:, ::-1].argmax(1), 0).astype(np.int64)
    return _band_project(fb, lo, hi, np.ascontiguousarray(S_power, dtype=np.float32))
