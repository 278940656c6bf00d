"""Torch backend: STFT, HPSS and mel for batches of clips on any torch device (GPU first).

``TorchFeatures`` is a thin ``nn.Module`` whose window and mel filterbank are buffers; its
``forward(y [B, n]) -> [B, C, F, T]`` matches the librosa reference (same framing, float64
FFT rounded to complex64, scipy-'reflect' median borders, librosa's soft masks). On GPUs
it is tensor code (``torch.stft``, ``unfold`` + ``median`` in frequency chunks for bounded
memory, a matmul mel); on a CPU the STFT, medians and mel projection of ``features.fast``
(``cpu_kernels=False`` forces the tensor code anywhere). Channels: stft, mel, mel_logc,
hpss, mfcc; CQT and chroma stay on the CPU backends. ``DeviceFeatures`` wraps the module
for lists of clips, with out-of-memory fallbacks (cache filling, prediction on a GPU).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import ParameterError
from .registry import logc
from .torch_backend_support import SUPPORTED


def _reflect_index(n: int, h: int, device) -> torch.Tensor:
    """Indices of a row padded by ``h`` on both sides with scipy's 'reflect' rule."""
    i = torch.arange(-h, n + h, device=device)
    m = torch.remainder(i, 2 * n)
    return torch.where(m >= n, 2 * n - 1 - m, m)


def median_filter(x: torch.Tensor, k: int, dim: int, chunk: int = 64, *,
                  cpu_kernel: bool = True) -> torch.Tensor:
    """Median over a ``k``-wide window (k odd) along ``dim`` of ``x [B, F, T]``, borders
    as scipy's ``mode='reflect'``. ``cpu_kernel``: float32 on a CPU goes to the numba
    sliding median (faster there); False: the tensor code that runs on GPUs."""
    if k % 2 == 0:
        raise ParameterError(f"median kernel must be odd, got {k}")
    if dim == 1:
        return median_filter(x.transpose(1, 2), k, 2, chunk,
                             cpu_kernel=cpu_kernel).transpose(1, 2)
    if cpu_kernel and x.device.type == "cpu" and x.dtype == torch.float32:
        from .fast import median_filter_rows

        rows = x.reshape(-1, x.shape[-1]).contiguous().numpy()
        return torch.from_numpy(median_filter_rows(rows, k)).reshape(x.shape)
    h = k // 2
    xp = x.index_select(2, _reflect_index(x.shape[2], h, x.device))
    out = torch.empty_like(x)
    for f0 in range(0, x.shape[1], chunk):  # bound the unfolded copy's memory
        win = xp[:, f0:f0 + chunk].unfold(2, k, 1)  # [B, f, T, k]
        out[:, f0:f0 + chunk] = win.median(dim=-1).values
    return out


def _softmask(X, X_ref, power):
    Z = torch.maximum(X, X_ref)
    bad = Z < torch.finfo(torch.float32).tiny
    Z = torch.where(bad, torch.ones_like(Z), Z)
    m = (X / Z) ** power
    r = (X_ref / Z) ** power
    return torch.where(bad, torch.zeros_like(m), m / (m + r))


class TorchFeatures(nn.Module):
    """``y [B, n]`` float32 at ``spec.sr`` -> features ``[B, C, F, T]``.

    ``cpu_kernels``: on a CPU, the STFT, medians and mel projection of ``features.fast``
    (faster there, same values); False runs the tensor code GPUs run, on any device.
    """

    def __init__(self, spec, *, cpu_kernels: bool = True):
        super().__init__()
        from .filters import mel_filterbank, stft_window

        self.cpu_kernels = cpu_kernels
        bad = [n for n in spec.names if n not in SUPPORTED]
        if bad:
            raise ParameterError(f"the torch backend computes {', '.join(SUPPORTED)}; not "
                                 f"{', '.join(bad)} (use backend='fast')")
        self.spec = spec
        win = stft_window(spec.window, spec.win_length or spec.n_fft, spec.n_fft)
        self.register_buffer("window", torch.from_numpy(np.array(win, dtype=np.float64)))
        fb = mel_filterbank(sr=spec.sr, n_fft=spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin,
                            fmax=spec.fmax)
        self.register_buffer("mel_fb", torch.from_numpy(np.array(fb)))
        if "mfcc" in spec.names:
            import scipy.fft

            dct = scipy.fft.dct(np.eye(spec.n_mels), axis=0, type=2, norm="ortho")
            self.register_buffer("dct", torch.from_numpy(dct[: spec.n_mfcc].astype(np.float32)))

    def db(self, P: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(P, min=self.spec.amin))

    def mel_power(self, P: torch.Tensor) -> torch.Tensor:
        """``mel_fb @ P`` for ``P [B, F, T]``; on a CPU the banded numba projection of
        ``features.fast`` (it skips the filterbank's zeros; same sums)."""
        if self._on_cpu(P) and P.dtype == torch.float32:
            from .fast import mel_power

            fb = self.mel_fb.numpy()
            return torch.from_numpy(np.stack([mel_power(p, fb) for p in P.numpy()]))
        return torch.matmul(self.mel_fb, P)

    def _on_cpu(self, x: torch.Tensor) -> bool:
        return self.cpu_kernels and x.device.type == "cpu"

    def mel_db(self, P: torch.Tensor) -> torch.Tensor:
        return self.db(self.mel_power(P))

    def magnitude(self, y: torch.Tensor) -> torch.Tensor:
        s = self.spec
        if self._on_cpu(y):  # the blocked numpy STFT is faster on a CPU, same values
            from .fast import stft_magnitude

            kw = dict(n_fft=s.n_fft, hop_length=s.hop_length, win_length=s.win_length,
                      window=s.window, center=s.center, pad_mode=s.pad_mode)
            return torch.from_numpy(np.stack([stft_magnitude(v, **kw) for v in y.numpy()]))
        D = torch.stft(y.double(), n_fft=s.n_fft, hop_length=s.hop_length, window=self.window,
                       center=s.center, pad_mode=s.pad_mode, return_complex=True)
        return D.to(torch.complex64).abs()

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        s = self.spec
        if s.mfcc_deltas and "mfcc" in s.names:
            raise ParameterError("the torch backend has no MFCC deltas (use backend='fast')")
        S = self.magnitude(y)
        P = S ** 2
        out = []
        mel = None
        for name in s.names:
            if name == "stft":
                out.append(self.db(P)[:, None])
            elif name in ("mel", "mfcc"):
                mel = self.mel_db(P) if mel is None else mel
                if name == "mel":
                    out.append(mel[:, None])
                else:
                    out.append(torch.matmul(self.dct, mel)[:, None])
            elif name == "mel_logc":
                out.append(logc(self.mel_power(P))[:, None])
            elif name == "hpss":
                harm = median_filter(S, s.hpss_kernel, dim=2, cpu_kernel=self.cpu_kernels)
                perc = median_filter(S, s.hpss_kernel, dim=1, cpu_kernel=self.cpu_kernels)
                H = S * _softmask(harm, perc * s.hpss_margin, s.hpss_power)
                Pm = S * _softmask(perc, harm * s.hpss_margin, s.hpss_power)
                out.append(torch.stack([self.mel_db(H ** 2), self.mel_db(Pm ** 2)], dim=1))
        return torch.cat(out, dim=1).float()


def compute_torch(y: np.ndarray, spec, device="cpu") -> np.ndarray:
    """One clip through ``TorchFeatures`` on ``device``; float32 ``[C, F, T]``."""
    mod = TorchFeatures(spec).to(device)
    with torch.inference_mode():
        return mod(torch.from_numpy(y)[None].to(device))[0].cpu().numpy()


class DeviceFeatures:
    """``TorchFeatures`` on ``device`` for lists of equal-length clips, with the CPU as the
    fallback for a clip that does not fit in device memory."""

    def __init__(self, spec, device):
        self.spec, self.device = spec, torch.device(device)
        self.module = TorchFeatures(spec).to(self.device)

    def __call__(self, ys: list[np.ndarray]) -> list[np.ndarray]:
        try:
            with torch.inference_mode():
                x = torch.from_numpy(np.stack(ys)).to(self.device)
                return list(self.module(x).cpu().numpy())
        except torch.OutOfMemoryError:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(ys) > 1:
                return [X for y in ys for X in self([y])]
            return [compute_torch(ys[0], self.spec, "cpu")]
