import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from conftest import SR, chirp, clicks, noise, tone

from genrekit.errors import ParameterError
from genrekit.features import FeatureSpec, compute_features
from genrekit.features.torch_backend import TorchFeatures, median_filter

pytestmark = pytest.mark.numeric  # float parity: rerun under another BLAS/oneDNN kernel


@pytest.mark.parametrize("n", [3, 10, 31, 200])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # float64: the unfold path
def test_median_filter_matches_scipy_reflect(n, dtype):
    x = torch.from_numpy(np.random.default_rng(n).standard_normal((2, 40, n))).to(dtype)
    for dim, size in ((2, (1, 1, 31)), (1, (1, 31, 1))):
        ref = ndi.median_filter(x.numpy(), size=size, mode="reflect")
        np.testing.assert_array_equal(median_filter(x, 31, dim=dim, chunk=7).numpy(), ref)


@pytest.mark.parametrize("y", [tone(440, 2.0), chirp(100, 5000, 2.0), noise(2.0),
                               tone(220, 2.0, amp=0.3) + clicks(2.0, amp=0.5),
                               np.zeros(SR, np.float32), noise(0.3)],
                         ids=["tone", "chirp", "noise", "mix", "silence", "short"])
def test_parity_with_reference(y):
    for names in (("mel", "hpss"), ("mfcc",), ("stft",)):
        spec = FeatureSpec(names=names)
        R = compute_features(y, SR, spec, backend="reference")
        X = compute_features(y, SR, spec, backend="torch")
        assert X.shape == R.shape
        if names == ("mfcc",):
            np.testing.assert_allclose(X, R, atol=2e-3)
        else:
            m = R > -80
            assert np.max(np.abs(X[m] - R[m]), initial=0.0) <= 1e-3


@pytest.mark.parametrize("y", [tone(440, 2.0), chirp(100, 5000, 2.0), noise(2.0),
                               tone(220, 2.0, amp=0.3) + clicks(2.0, amp=0.5),
                               np.zeros(SR, np.float32), noise(0.3)],
                         ids=["tone", "chirp", "noise", "mix", "silence", "short"])
def test_gpu_code_path_matches_reference(y):
    """The tensor code a GPU runs (torch.stft, unfold medians, matmul mel), here on the
    CPU: what a GPU run adds is only the device's own rounding."""
    for names in (("mel", "hpss"), ("mfcc",), ("stft",), ("mel_logc",)):
        spec = FeatureSpec(names=names)
        R = compute_features(y, SR, spec, backend="reference")
        mod = TorchFeatures(spec, cpu_kernels=False)
        with torch.inference_mode():
            X = mod(torch.from_numpy(y.astype(np.float32))[None])[0].numpy()
        assert X.shape == R.shape
        if names in (("mfcc",), ("mel_logc",)):
            np.testing.assert_allclose(X, R, atol=2e-3)
        else:
            m = R > -80
            assert np.max(np.abs(X[m] - R[m]), initial=0.0) <= 1e-3


@pytest.mark.parametrize("cpu_kernels", [True, False], ids=["cpu-kernels", "gpu-code"])
def test_batched_equals_one_by_one(cpu_kernels):
    spec = FeatureSpec(names=("mel", "hpss"), n_mels=64)
    mod = TorchFeatures(spec, cpu_kernels=cpu_kernels)
    ys = [noise(1.5, seed=i) for i in range(3)]
    with torch.inference_mode():
        batch = mod(torch.from_numpy(np.stack(ys)))
        for i, y in enumerate(ys):
            torch.testing.assert_close(batch[i], mod(torch.from_numpy(y)[None])[0])
    assert {"window", "mel_fb"} <= {n for n, _ in mod.named_buffers()}


def test_unsupported_channels():
    with pytest.raises(ParameterError, match="the torch backend computes"):
        TorchFeatures(FeatureSpec(names="cqt"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_matches_cpu():
    spec = FeatureSpec(names=("mel", "hpss"))
    y = torch.from_numpy(np.stack([noise(2.0, seed=i) for i in range(4)]))
    cpu = TorchFeatures(spec)(y)
    gpu = TorchFeatures(spec).cuda()(y.cuda()).cpu()
    m = cpu > -80
    assert (gpu[m] - cpu[m]).abs().max() <= 1e-3
