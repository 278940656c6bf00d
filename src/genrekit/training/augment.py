"""Training-only augmentation on standardised batches ``x [B, C, F, T]``, seeded.

- SpecAugment masking: ``n`` frequency bands of up to ``freq_mask`` bins and ``n`` time
  spans of up to ``time_mask`` frames set to 0 (the channel mean after standardisation).
- mixup: convex mix of pairs with ``lam ~ Beta(alpha, alpha)``; the loss mixes likewise.
- gain: a random offset of up to ``gain_db`` dB, applied in the dB domain before scaling.
- pitch: the whole crop moved up or down by up to ``pitch_shift_bins`` frequency bins (a
  cheap pitch change in the feature domain; edge rows repeat).
- tempo: a crop ``factor`` times the slice width (factor uniform in 1 +- ``time_stretch``)
  resampled to the slice width by linear interpolation of frames.
All of it happens in training only; evaluation and prediction never augment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    freq_mask: int = 0  # max bins per frequency mask (0: off)
    time_mask: int = 0  # max frames per time mask (0: off)
    n_masks: int = 2
    mixup_alpha: float = 0.0  # 0: off
    gain_db: float = 0.0  # 0: off
    pitch_shift_bins: int = 0  # 0: off
    time_stretch: float = 0.0  # 0: off; 0.1 = tempo x0.9..x1.1

    @property
    def active(self) -> bool:
        return bool(self.freq_mask or self.time_mask or self.mixup_alpha or self.gain_db
                    or self.pitch_shift_bins or self.time_stretch)


def stretched_crop(X: np.ndarray, width: int, stretch: float,
                   rng: np.random.Generator) -> np.ndarray:
    """A random crop of ``X [C, F, T]`` whose length is ``width`` x a random tempo factor,
    resampled to ``width`` frames (``stretch`` 0: a plain random crop)."""
    from ..data.slices import random_crop

    if not stretch:
        return random_crop(X, width, rng)
    src = max(2, int(round(width * rng.uniform(1 - stretch, 1 + stretch))))
    crop = random_crop(X, src, rng).astype(np.float32)
    pos = np.linspace(0, src - 1, width)
    left = np.minimum(pos.astype(np.int64), src - 2)
    frac = (pos - left).astype(np.float32)
    return crop[..., left] * (1 - frac) + crop[..., left + 1] * frac


def pitch_shift(x: np.ndarray, max_bins: int, rng: np.random.Generator) -> np.ndarray:
    """Each example of ``x [B, C, F, T]`` moved by a random whole number of frequency bins
    in ``[-max_bins, max_bins]``; the vacated rows repeat the edge row."""
    if not max_bins:
        return x
    out = np.empty_like(x)
    F = x.shape[2]
    for b in range(len(x)):
        k = int(rng.integers(-max_bins, max_bins + 1))
        idx = np.clip(np.arange(F) - k, 0, F - 1)
        out[b] = x[b][:, idx, :]
    return out


def random_gain(xb: np.ndarray, gain_db: float, db_channels: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """Add one random dB offset per example to its dB channels (a level change)."""
    if not gain_db:
        return xb
    g = rng.uniform(-gain_db, gain_db, size=(len(xb), 1, 1, 1)).astype(xb.dtype)
    return xb + g * db_channels[None, :, None, None].astype(xb.dtype)


def spec_mask(x, cfg: AugmentConfig, rng: np.random.Generator):
    """SpecAugment masks on a torch batch ``[B, C, F, T]`` (a masked copy)."""
    if not (cfg.freq_mask or cfg.time_mask):
        return x
    x = x.clone()
    B, _, F, T = x.shape
    for b in range(B):
        for _ in range(cfg.n_masks):
            if cfg.freq_mask:
                w = int(rng.integers(0, cfg.freq_mask + 1))
                f0 = int(rng.integers(0, max(F - w, 0) + 1))
                x[b, :, f0:f0 + w, :] = 0
            if cfg.time_mask:
                w = int(rng.integers(0, cfg.time_mask + 1))
                t0 = int(rng.integers(0, max(T - w, 0) + 1))
                x[b, :, :, t0:t0 + w] = 0
    return x


def mixup(x, y, alpha: float, rng: np.random.Generator):
    """Returns ``(x_mixed, y, y_perm, lam)``; with alpha 0: ``(x, y, y, 1.0)``."""
    import torch

    if not alpha:
        return x, y, y, 1.0
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(len(x))).to(x.device)
    return lam * x + (1 - lam) * x[perm], y, y[perm], lam
