import numpy as np
import pytest
import scipy.ndimage as ndi

from genrekit.features.fast import hpss_magnitudes, median_filter_rows


@pytest.fixture(params=[True, False], ids=["threads", "one-core"])
def kernels(request):
    from genrekit.features import fast

    fast.set_parallel(request.param)
    yield request.param
    fast.set_parallel(True)


@pytest.mark.parametrize("n", [1, 3, 5, 14, 15, 16, 30, 31, 32, 100, 1025])
@pytest.mark.parametrize("k", [1, 3, 7, 31])
def test_sliding_median_equals_scipy_reflect(n, k, kernels):
    rng = np.random.default_rng(n * 100 + k)
    X = rng.standard_normal((5, n)).astype(np.float32)
    X[:, ::3] = X[:, :1]  # ties
    X[1] = 0.0  # a constant row (silence)
    np.testing.assert_array_equal(median_filter_rows(X, k),
                                  ndi.median_filter(X, size=(1, k), mode="reflect"))


def test_hpss_equals_librosa_bit_for_bit_on_same_magnitude(kernels):
    import librosa

    S = np.abs(np.random.default_rng(0).standard_normal((257, 300))).astype(np.float32)
    S[:, 100:110] = 0  # a silent stretch: librosa's zero-mask branch
    H, P = hpss_magnitudes(S, kernel_size=31)
    H2, P2 = librosa.decompose.hpss(S, kernel_size=31)
    np.testing.assert_allclose(H, H2, rtol=1e-6, atol=0)
    np.testing.assert_allclose(P, P2, rtol=1e-6, atol=0)


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(22050, 2048, 128, 0.0, None),
                                                       (16000, 512, 40, 50.0, 7000.0),
                                                       (44100, 4096, 96, 20.0, 16000.0)])
def test_mel_filterbank_equals_librosa(sr, n_fft, n_mels, fmin, fmax):
    from genrekit.features.filters import mel_filterbank
    from genrekit.features.spectral import librosa_mel_filterbank

    kw = dict(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    np.testing.assert_allclose(mel_filterbank(**kw), librosa_mel_filterbank(**kw),
                               rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("window,win_length,n_fft", [("hann", 2048, 2048),
                                                     ("hann", 1000, 2048),
                                                     ("hamming", 512, 1024)])
def test_stft_window_equals_librosa(window, win_length, n_fft):
    import librosa

    from genrekit.features.filters import stft_window

    ref = librosa.util.pad_center(librosa.filters.get_window(window, win_length, fftbins=True),
                                  size=n_fft)
    np.testing.assert_allclose(stft_window(window, win_length, n_fft), ref, atol=1e-12)
