import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genrekit.data.sampling import balanced_indices, class_weights, uniform_indices
from genrekit.data.slices import grid_slices, grid_starts, pad_to, random_crop, seconds_to_frames
from genrekit.errors import ParameterError


def song(T, C=2, F_=4):
    return np.arange(C * F_ * T, dtype=np.float32).reshape(C, F_, T)


def test_grid_covers_the_song():
    X = song(100)
    slices, starts = grid_slices(X, 30, 20)
    assert slices.shape == (len(starts), 2, 4, 30)
    assert starts == [0, 20, 40, 60, 70]
    covered = np.zeros(100, bool)
    for s in starts:
        covered[s:s + 30] = True
    assert covered.all()
    np.testing.assert_array_equal(slices[-1], X[..., 70:100])
    assert grid_starts(30, 30, 10) == [0]


def test_short_song_is_wrap_padded():
    X = song(7)
    P = pad_to(X, 20)
    assert P.shape[-1] == 20
    np.testing.assert_array_equal(P[..., 7:14], X)
    slices, starts = grid_slices(X, 20, 5)
    assert slices.shape == (1, 2, 4, 20) and starts == [0]
    assert random_crop(X, 20, np.random.default_rng(0)).shape == (2, 4, 20)


def test_random_crop_seeded():
    X = song(500)
    a = [random_crop(X, 50, np.random.default_rng(3))[0, 0, 0] for _ in range(3)]
    b = random_crop(X, 50, np.random.default_rng(4))[0, 0, 0]
    assert a[0] == a[1] == a[2] and a[0] != b


def test_seconds_to_frames():
    assert seconds_to_frames(3.0, 22050, 512) == 129
    with pytest.raises(ParameterError, match="less than one frame"):
        seconds_to_frames(0.001, 22050, 512)
    with pytest.raises(ParameterError, match="hop must be >= 1"):
        grid_starts(100, 10, 0)


def test_balanced_sampler_equalises_classes():
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    idx = balanced_indices(labels, 30000, np.random.default_rng(0))
    freq = np.bincount(labels[idx], minlength=3) / len(idx)
    np.testing.assert_allclose(freq, [1 / 3] * 3, atol=0.02)
    u = uniform_indices(10, 25, np.random.default_rng(0))
    assert len(u) == 25 and set(np.bincount(u)) <= {2, 3}


def test_class_weights_and_weighted_loss_by_hand():
    labels = np.array([0, 0, 0, 1])  # counts 3, 1
    w = class_weights(labels, 3)
    np.testing.assert_allclose(w, [4 / (2 * 3), 4 / (2 * 1), 0.0], rtol=1e-6)
    np.testing.assert_allclose(class_weights(labels, 3, power=0.5)[:2], np.sqrt(w[:2]), rtol=1e-6)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    y = torch.tensor([0, 1])
    wt = torch.from_numpy(w)
    p = torch.softmax(logits, 1)
    by_hand = -(wt[0] * torch.log(p[0, 0]) + wt[1] * torch.log(p[1, 1])) / (wt[0] + wt[1])
    torch.testing.assert_close(F.cross_entropy(logits, y, weight=wt), by_hand)
