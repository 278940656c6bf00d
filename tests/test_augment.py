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


def test_pitch_shift_and_time_stretch_keep_shapes_and_are_seeded():
    from genrekit.training.augment import pitch_shift, stretched_crop

    X = np.random.default_rng(0).standard_normal((2, 16, 300)).astype(np.float32)
    a = stretched_crop(X, 50, 0.2, np.random.default_rng(5))
    b = stretched_crop(X, 50, 0.2, np.random.default_rng(5))
    assert a.shape == (2, 16, 50) and np.array_equal(a, b)
    plain = stretched_crop(X, 50, 0.0, np.random.default_rng(5))
    assert plain.shape == (2, 16, 50)
    ramp = np.tile(np.arange(100, dtype=np.float32), (1, 1, 1))  # [1, 1, 100]
    st = stretched_crop(ramp, 40, 0.5, np.random.default_rng(1))
    assert np.all(np.diff(st[0, 0]) > 0)  # frames keep their order, interpolated
    xb = np.arange(2 * 1 * 8 * 3, dtype=np.float32).reshape(2, 1, 8, 3)
    s1 = pitch_shift(xb, 2, np.random.default_rng(3))
    s2 = pitch_shift(xb, 2, np.random.default_rng(3))
    assert s1.shape == xb.shape and np.array_equal(s1, s2)
    for b in range(2):  # each example is its rows moved by one whole offset in [-2, 2]
        assert any(np.array_equal(s1[b], xb[b][:, np.clip(np.arange(8) - k, 0, 7), :])
                   for k in range(-2, 3))
    assert pitch_shift(xb, 0, np.random.default_rng(3)) is xb


def test_training_with_every_augmentation_runs_and_eval_is_untouched(toy_catalog, tmp_path):
    from genrekit.cli import main

    base = ["features.names=[mel]", "features.n_mels=32", "slices.slice_seconds=1.0",
            "model.name=tiny", "train.patience=0", "augment.freq_mask=4",
            "augment.time_mask=6", "augment.mixup_alpha=0.4", "augment.gain_db=6",
            "augment.pitch_shift_bins=2", "augment.time_stretch=0.1"]
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["train", str(toy_catalog), "--out", str(out), "--epochs", "2",
                     "--cache-dir", str(tmp_path / "c"), *sum([["--set", s] for s in base],
                                                              [])]) == 0
        runs.append((out / "metrics.csv").read_text())
    assert runs[0] == runs[1]  # seeded: two runs are identical
