import librosa
import numpy as np
import pytest
from conftest import SR, chirp, clicks, noise, tone

from genrekit.errors import ParameterError
from genrekit.features import FeatureSpec, compute_features, list_features

pytestmark = pytest.mark.numeric  # float parity: rerun under another BLAS/oneDNN kernel

AMIN = 1e-10


def ref_db(P):
    return librosa.power_to_db(P, ref=1.0, amin=AMIN, top_db=None)


def ref_mel_power(S_power, spec):
    return librosa.feature.melspectrogram(S=S_power, sr=spec.sr, n_fft=spec.n_fft,
                                          n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax,
                                          htk=False, norm="slaney")


def ref_features(y, name, spec):
    """Each channel computed by librosa's own public calls with the same parameters."""
    D = librosa.stft(y, n_fft=spec.n_fft, hop_length=spec.hop_length, center=True,
                     pad_mode="constant")
    if name == "stft":
        return ref_db(np.abs(D) ** 2)[None]
    if name == "mel":
        M = librosa.feature.melspectrogram(y=y, sr=spec.sr, n_fft=spec.n_fft,
                                           hop_length=spec.hop_length, n_mels=spec.n_mels,
                                           pad_mode="constant", power=2.0)
        return ref_db(M)[None]
    if name == "mel_logc":  # musicnn's extractor, without its float16 rounding
        M = librosa.feature.melspectrogram(y=y, sr=spec.sr, n_fft=spec.n_fft,
                                           hop_length=spec.hop_length, n_mels=spec.n_mels)
        return np.log10(10000 * M + 1)[None]
    if name == "mfcc":
        M = ref_db(ref_mel_power(np.abs(D) ** 2, spec))
        return librosa.feature.mfcc(S=M, n_mfcc=spec.n_mfcc, dct_type=2, norm="ortho")[None]
    if name == "hpss":
        H, P = librosa.decompose.hpss(D, kernel_size=spec.hpss_kernel)
        return np.stack([ref_db(ref_mel_power(np.abs(H) ** 2, spec)),
                         ref_db(ref_mel_power(np.abs(P) ** 2, spec))])
    if name == "cqt":
        C = librosa.cqt(y, sr=spec.sr, hop_length=spec.hop_length, fmin=librosa.note_to_hz("C1"),
                        n_bins=84, bins_per_octave=12)
        return librosa.amplitude_to_db(np.abs(C), ref=1.0, amin=1e-5, top_db=None)[None]
    if name == "chroma_stft":
        return librosa.feature.chroma_stft(S=np.abs(D) ** 2, sr=spec.sr, n_fft=spec.n_fft,
                                           tuning=0.0)[None]
    if name == "chroma_cqt":
        return librosa.feature.chroma_cqt(y=y, sr=spec.sr, hop_length=spec.hop_length,
                                          n_octaves=7, bins_per_octave=12, tuning=0.0)[None]
    raise AssertionError(name)


SIGNALS = {
    "tone": lambda: tone(440, 3.0),
    "chirp": lambda: chirp(80, 6000, 3.0),
    "noise": lambda: noise(3.0),
    "clicks": lambda: clicks(3.0),
    "mix": lambda: tone(220, 3.0, amp=0.3) + clicks(3.0, amp=0.5) + noise(3.0, amp=0.05),
}


SIGNALS["silence"] = lambda: np.zeros(3 * SR, np.float32)
SIGNALS["shorter_than_kernel"] = lambda: noise(0.3)  # 13 frames < the 31-frame median


@pytest.mark.parametrize("backend", ["reference", "fast"])
@pytest.mark.parametrize("signal", sorted(SIGNALS))
@pytest.mark.parametrize("name", ["stft", "mel", "mel_logc", "mfcc", "hpss", "cqt",
                                  "chroma_stft", "chroma_cqt"])
def test_parity_with_librosa(name, signal, backend):
    y = SIGNALS[signal]()
    spec = FeatureSpec(names=(name,))
    X = compute_features(y, SR, spec, backend=backend)
    R = ref_features(y, name, spec).astype(np.float32)
    assert X.shape == R.shape
    if name.startswith("chroma") or name in ("mfcc", "mel_logc"):
        np.testing.assert_allclose(X, R, atol=1e-3, rtol=1e-4)
    else:  # dB channels: the criterion, bins above -80 dB
        mask = R > -80
        assert np.max(np.abs(X[mask] - R[mask]), initial=0.0) <= 1e-3
        assert np.all(np.isfinite(X))


def test_shapes_and_channel_stacking():
    y = noise(2.0)
    spec = FeatureSpec(names="mel,hpss")
    X = compute_features(y, SR, spec)
    T = 1 + len(y) // 512
    assert X.shape == (3, 128, T) and X.dtype == np.float32
    assert spec.channel_names == ["mel_db", "harmonic_mel_db", "percussive_mel_db"]
    assert spec.n_channels == 3 and spec.height == 128
    X = compute_features(y, SR, FeatureSpec(names="mfcc", mfcc_deltas=True, n_mfcc=13))
    assert X.shape == (3, 13, T)
    X = compute_features(y, SR, FeatureSpec(names="chroma_stft,chroma_cqt"))
    assert X.shape == (2, 12, T)


def test_tone_peaks_at_expected_bins():
    spec = FeatureSpec(names="stft")
    X = compute_features(tone(1000, 2.0), SR, spec)
    peak_bin = np.argmax(X[0].mean(axis=1))
    assert abs(peak_bin * SR / spec.n_fft - 1000) < SR / spec.n_fft
    mel = compute_features(tone(1000, 2.0), SR, FeatureSpec(names="mel"))
    mel_freqs = librosa.mel_frequencies(n_mels=130, fmax=SR / 2)[1:-1]
    assert abs(mel_freqs[np.argmax(mel[0].mean(axis=1))] - 1000) < 60
    cqt = compute_features(tone(440, 2.0), SR, FeatureSpec(names="cqt"))
    assert np.argmax(cqt[0].mean(axis=1)) == 45  # A4 is 45 semitones above C1
    chroma = compute_features(tone(440, 2.0), SR, FeatureSpec(names="chroma_cqt"))
    assert np.argmax(chroma[0].mean(axis=1)) == 9  # pitch class A (C=0)


def test_chirp_peak_rises_over_time():
    X = compute_features(chirp(200, 5000, 3.0), SR, FeatureSpec(names="mel"))[0]
    peaks = X[:, 5:-5].argmax(axis=0)
    assert np.all(np.diff(peaks[::10]) >= 0) and peaks[-1] > peaks[0] + 40


def test_hpss_separates_tone_from_clicks():
    y = tone(440, 3.0, amp=0.3) + clicks(3.0, amp=0.9)
    X = compute_features(y, SR, FeatureSpec(names="hpss"))
    harm, perc = X[0], X[1]
    band = np.argmax(harm.mean(axis=1))  # the tone's mel band
    assert harm[band].mean() > perc[band].mean() + 6  # the tone is harmonic
    top = slice(100, 128)  # clicks are broadband: they dominate high bands of the percussive
    assert perc[top].mean() > harm[top].mean() + 6


def test_fixed_db_reference_slice_does_not_depend_on_the_rest():
    quiet = tone(440, 2.0, amp=0.01)
    loud = np.concatenate([quiet, tone(440, 2.0, amp=0.9)])
    spec = FeatureSpec(names="mel")
    a = compute_features(quiet, SR, spec)[0, :, 2:60]
    b = compute_features(loud, SR, spec)[0, :, 2:60]
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_silence_sits_at_the_floor():
    X = compute_features(np.zeros(SR, np.float32), SR, FeatureSpec(names="mel"))
    assert np.all(X == pytest.approx(-100.0))


def test_other_sample_rate_is_resampled():
    y44 = tone(1000, 2.0, sr=44100)
    spec = FeatureSpec(names="mel")
    a = compute_features(y44, 44100, spec)
    b = compute_features(tone(1000, 2.0), SR, spec)
    assert a.shape == b.shape
    assert np.argmax(a[0].mean(1)) == np.argmax(b[0].mean(1))


def test_clip_shorter_than_kernel():
    X = compute_features(noise(0.1), SR, FeatureSpec(names="mel,hpss"))
    assert X.shape == (3, 128, 1 + int(0.1 * SR) // 512) and np.all(np.isfinite(X))


def test_errors():
    with pytest.raises(ParameterError, match="cannot stack features of different heights: "
                                             r"mel \(128 bins\), mfcc \(20 bins\)"):
        FeatureSpec(names="mel,mfcc")
    with pytest.raises(ParameterError, match="unknown feature 'mell'; did you mean 'mel'"):
        FeatureSpec(names="mell")
    with pytest.raises(ParameterError, match="n_mels must be > 0"):
        FeatureSpec(n_mels=0)
    with pytest.raises(ParameterError, match="fmin < fmax"):
        FeatureSpec(fmax=20000)
    with pytest.raises(ParameterError, match="must be mono"):
        compute_features(np.zeros((2, 100), np.float32), SR)
    with pytest.raises(ParameterError, match="y is empty"):
        compute_features(np.zeros(0, np.float32), SR)
    with pytest.raises(ParameterError, match="NaN"):
        compute_features(np.full(1000, np.nan, np.float32), SR)
    with pytest.raises(ParameterError, match="unknown feature backend 'gpu'"):
        compute_features(np.ones(1000, np.float32), SR, backend="gpu")
    with pytest.raises(ParameterError, match="unknown FeatureSpec field"):
        FeatureSpec.from_dict({"n_melz": 3})


def test_spec_roundtrip_and_key():
    s = FeatureSpec(names="mel,hpss", n_mels=64)
    assert FeatureSpec.from_dict(s.to_dict()) == s
    assert s.key() == FeatureSpec.from_dict(s.to_dict()).key()
    assert s.key() != FeatureSpec(names="mel,hpss", n_mels=96).key()
    assert set(list_features()) >= {"stft", "mel", "hpss", "mfcc", "cqt", "chroma_stft",
                                    "chroma_cqt"}
