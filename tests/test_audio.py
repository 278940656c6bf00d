import numpy as np
import pytest
from conftest import SR, chirp, noise, tone, write

from genrekit import load_audio
from genrekit.errors import AudioLoadError, ParameterError


def peak_hz(y, sr):
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spec) * sr / len(y)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3", "aiff", "au", "m4a"])
def test_formats_decode_to_mono_float32(tmp_path, ext):
    path = write(tmp_path / f"a.{ext}", tone(440, 2.0))
    y, sr = load_audio(path)
    assert sr == 22050 and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) / sr - 2.0) < 0.1
    assert abs(peak_hz(y, sr) - 440) < 5


def test_resamples_to_requested_rate(tmp_path):
    path = write(tmp_path / "a.wav", tone(1000, 1.0, sr=44100), sr=44100)
    y, sr = load_audio(path, sr=16000)
    assert sr == 16000 and abs(len(y) - 16000) <= 1
    assert abs(peak_hz(y, sr) - 1000) < 3
    y2, sr2 = load_audio(path, sr=None)
    assert sr2 == 44100 and len(y2) == 44100


def test_stereo_downmix_and_keep_channels(tmp_path):
    st = np.stack([tone(440, 1.0), noise(1.0, amp=0.1)], axis=1)
    path = write(tmp_path / "s.wav", st)
    y, _ = load_audio(path)
    np.testing.assert_allclose(y, st.mean(axis=1), atol=1e-4)
    y2, _ = load_audio(path, mono=False)
    assert y2.shape == (2, SR)


@pytest.mark.parametrize("ext", ["wav", "m4a"])
def test_offset_and_duration_window(tmp_path, ext):
    y = chirp(100, 4000, 4.0)
    path = write(tmp_path / f"c.{ext}", y)
    w, sr = load_audio(path, offset=1.0, duration=1.5)
    assert abs(len(w) - int(1.5 * sr)) <= 2048
    if ext == "wav":
        np.testing.assert_allclose(w, y[SR:SR + len(w)], atol=1e-4)


def test_window_of_long_file_reads_only_the_window(tmp_path, monkeypatch):
    import soundfile as sf

    path = write(tmp_path / "long.flac", noise(120.0, amp=0.1))
    read_sizes = []
    real_read = sf.SoundFile.read

    def spy(self, frames=-1, *a, **k):
        read_sizes.append(frames)
        return real_read(self, frames, *a, **k)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    y, sr = load_audio(path, offset=60.0, duration=2.0)
    assert len(y) == 2 * sr and read_sizes == [2 * SR]


def test_not_found(tmp_path):
    with pytest.raises(AudioLoadError, match="missing.wav: file not found"):
        load_audio(tmp_path / "missing.wav")


def test_empty_file(tmp_path):
    (tmp_path / "e.mp3").write_bytes(b"")
    with pytest.raises(AudioLoadError, match=r"e.mp3: empty file \(0 bytes\)"):
        load_audio(tmp_path / "e.mp3")


def test_text_file_named_wav(tmp_path):
    (tmp_path / "t.wav").write_text("this is not audio at all\n" * 20)
    with pytest.raises(AudioLoadError, match="t.wav: not a recognised audio file"):
        load_audio(tmp_path / "t.wav")


def test_garbage_with_unknown_extension(tmp_path):
    (tmp_path / "g.xyz").write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(AudioLoadError, match="g.xyz: not a recognised audio file"):
        load_audio(tmp_path / "g.xyz")


def test_zero_length_audio(tmp_path):
    path = write(tmp_path / "z.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioLoadError, match="z.wav: no audio samples"):
        load_audio(path)


def test_offset_past_end(tmp_path):
    path = write(tmp_path / "s.wav", tone(440, 1.0))
    with pytest.raises(AudioLoadError, match="offset past the end"):
        load_audio(path, offset=5.0)


def test_directory(tmp_path):
    with pytest.raises(AudioLoadError, match="is a directory"):
        load_audio(tmp_path)


def test_bad_parameters(tmp_path):
    path = write(tmp_path / "s.wav", tone(440, 1.0))
    with pytest.raises(ParameterError, match="offset must be >= 0"):
        load_audio(path, offset=-1)
    with pytest.raises(ParameterError, match="duration must be > 0"):
        load_audio(path, duration=0)
    with pytest.raises(ParameterError, match="sr must be a positive"):
        load_audio(path, sr=0)


def test_truncated_mp3_decodes_what_is_there(tmp_path):
    path = write(tmp_path / "full.mp3", tone(440, 4.0))
    data = open(path, "rb").read()
    (tmp_path / "half.mp3").write_bytes(data[: len(data) // 2])
    y, sr = load_audio(tmp_path / "half.mp3")
    assert 0.5 < len(y) / sr < 3.5


@pytest.mark.parametrize("channels", [1, 2, 3, 6])
@pytest.mark.parametrize("amp", [0.3, 3.0])
def test_mix_is_exactly_the_channel_mean(channels, amp):
    """The fast mix (channel sums into one contiguous row) equals the plain definition bit
    for bit, on the decoders' interleaved (strided) layout and past full scale."""
    from genrekit.audio import _mix

    y = (np.random.default_rng(channels).standard_normal((20001, channels)) * amp)
    y = y.astype(np.float32).T  # [channels, n], strided as decoders give it
    peak = float(np.max(np.abs(y)))
    ref = y / peak if peak > 1.0 else y
    ref = ref.mean(axis=0, keepdims=True) if channels > 1 else ref
    got = _mix(y, True)
    assert got.dtype == np.float32 and np.array_equal(got, ref)
