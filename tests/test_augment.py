import numpy as np
import torch

from genrekit.training.augment import AugmentConfig, mixup, random_gain, spec_mask


def test_masks_are_seeded_and_zero_bands():
    x = torch.ones(3, 2, 32, 40)
    cfg = AugmentConfig(freq_mask=8, time_mask=10, n_masks=2)
    a = spec_mask(x, cfg, np.random.default_rng(0))
    b = spec_mask(x, cfg, np.random.default_rng(0))
    torch.testing.assert_close(a, b)
    assert (a == 0).any() and (a == 1).any() and torch.all(x == 1)  # input untouched
    zero_rows = (a[:, 0] == 0).all(dim=2)  # a frequency mask zeroes whole rows
    assert zero_rows.any()
    assert spec_mask(x, AugmentConfig(), np.random.default_rng(0)) is x


def test_mixup_and_gain():
    x = torch.arange(4.0).reshape(4, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 3])
    xm, ya, yb, lam = mixup(x, y, 0.4, np.random.default_rng(1))
    assert 0 <= lam <= 1 and sorted(yb.tolist()) == [0, 1, 2, 3]
    torch.testing.assert_close(xm, lam * x + (1 - lam) * x[yb])
    assert mixup(x, y, 0.0, np.random.default_rng(1))[3] == 1.0
    xb = np.zeros((2, 2, 3, 4), np.float32)
    g = random_gain(xb, 6.0, np.array([True, False]), np.random.default_rng(0))
    assert np.all(g[:, 1] == 0) and np.all(np.abs(g[:, 0]) <= 6) and np.ptp(g[0, 0]) == 0
