"""Long files decoded in blocks (``audio_stream``): the same samples as the one-shot path,
the same refusals, a damaged file still gives what decoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import write

from genrekit import audio_stream
from genrekit.audio import _checked_at_rate, _decode, load_checked
from genrekit.errors import AudioLoadError

SR = 44100


@pytest.fixture(autouse=True)
def short_streams(monkeypatch):
    """Stream anything over 3 s, in 1 s blocks: small files take the long-file path."""
    monkeypatch.setattr(audio_stream, "STREAM_ABOVE", 3.0)
    monkeypatch.setattr(audio_stream, "BLOCK_SECONDS", 1.0)


def music(seconds=8.0, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = [0.3 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t))
         + 0.05 * rng.standard_normal(len(t)) for f in (220.0, 330.0)[:channels]]
    return np.stack(y, 1).astype(np.float32)


def one_shot(path, sr, max_duration=600.0):
    y, native = _decode(path, 0.0, max_duration)
    return _checked_at_rate(y, native, sr, path, 1.0)


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
@pytest.mark.parametrize("sr", [16000, 22050, 44100])
def test_streamed_samples_are_the_one_shot_samples(fmt, sr, tmp_path):
    from pathlib import Path

    p = Path(write(tmp_path / f"a.{fmt}", music(), sr=SR))
    assert audio_stream.open_source(p, {".wav", ".flac", ".ogg", ".mp3"}, None) is not None
    got = load_checked(p, sr)
    want = one_shot(p, sr)
    assert got.dtype == np.float32 and got.shape == want.shape
    if fmt == "mp3":  # libsndfile's mpg123 output differs in the last bit across a block
        np.testing.assert_allclose(got, want, rtol=0, atol=5e-7)  # boundary (<= 2.1e-7)
    else:
        np.testing.assert_array_equal(got, want)  # the same samples


def test_max_duration_and_mono_files(tmp_path):
    from pathlib import Path

    p = Path(write(tmp_path / "m.flac", music(channels=1)[:, 0], sr=SR))
    np.testing.assert_array_equal(load_checked(p, 16000, max_duration=5.0),
                                  one_shot(p, 16000, max_duration=5.0))
    assert len(load_checked(p, 16000, max_duration=5.0)) == 5 * 16000


def test_float_file_past_full_scale_is_scaled_like_before(tmp_path):
    import soundfile as sf

    p = tmp_path / "loud.wav"
    sf.write(p, music() * 4.0, SR, subtype="FLOAT")
    got, want = load_checked(p, 16000), one_shot(p, 16000)
    assert np.abs(got).max() <= 1.0
    np.testing.assert_allclose(got, want, atol=1e-6)  # scaled after, not before: rounding


@pytest.mark.parametrize("signal,reason", [(0.0, "silent"), (0.25, "constant")])
def test_silent_or_constant_long_files_are_refused(signal, reason, tmp_path):
    import soundfile as sf

    p = tmp_path / "flat.wav"
    sf.write(p, np.full((8 * SR, 2), signal, np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match=reason):
        load_checked(p, 16000)


def test_a_file_damaged_midway_gives_what_decoded(tmp_path):
    p = write(tmp_path / "cut.mp3", music(seconds=10.0), sr=SR)
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) // 2] + b"\x00garbage" * 200)
    y = load_checked(p, 16000)
    assert 3 * 16000 < len(y) < 9 * 16000 and np.isfinite(y).all()


@pytest.mark.parametrize("fmt", ["m4a", "opus"])
@pytest.mark.parametrize("max_duration", [600.0, 5.0])
def test_pyav_formats_stream_frame_by_frame_to_the_same_samples(fmt, max_duration, tmp_path):
    from pathlib import Path

    p = Path(write(tmp_path / f"a.{fmt}", music(), sr=SR))
    source = audio_stream.open_source(p, set(), max_duration)
    assert source is not None  # long enough (the fixture's 3 s) to stream
    streamed = audio_stream.stream_checked(source, 16000, min_duration=1.0)
    got = load_checked(p, 16000, max_duration=max_duration)
    np.testing.assert_array_equal(got, streamed)
    want = one_shot(p, 16000, max_duration)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)  # decoders' float rounding


def test_a_file_shorter_than_its_header_says_gives_no_stale_audio(tmp_path):
    """A truncated mp3 whose Xing header still counts every frame: libsndfile stops early,
    and ``SoundFile.blocks`` would yield its last buffer again (stale audio) to the count."""
    p = Path(write(tmp_path / "cut.mp3", music(seconds=12.0), sr=SR))
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) * 2 // 3 + 77])  # ends inside a frame
    got = load_checked(p, 16000)
    want = one_shot(p, 16000)
    assert got.shape == want.shape and len(got) < 9 * 16000
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_in_a_long_file_are_refused(bad, tmp_path):
    import soundfile as sf

    y = music()
    y[5 * SR, 1] = bad
    p = tmp_path / "bad.wav"
    sf.write(p, y, SR, subtype="FLOAT")
    with pytest.raises(AudioLoadError, match="NaN or infinity"):
        load_checked(p, 16000)


def test_a_long_file_libsndfile_cannot_open_streams_through_pyav(monkeypatch, tmp_path):
    """An mp3 where the installed libsndfile has no mpg123: FFmpeg streams it instead."""
    import soundfile as sf

    p = Path(write(tmp_path / "a.mp3", music(), sr=SR))

    def no_mp3(*a, **k):
        raise sf.LibsndfileError(1, "File contains data in an unknown format")

    monkeypatch.setattr(sf, "info", no_mp3)
    source = audio_stream.open_source(p, {".mp3"}, None)
    assert source is not None and len(np.concatenate(list(source.blocks), 1).T) > 7 * SR


def test_a_long_file_unreadable_from_its_first_block_is_one_clean_error(monkeypatch,
                                                                         tmp_path):
    import soundfile as sf

    p = Path(write(tmp_path / "a.flac", music(), sr=SR))

    def broken(self, *a, **k):
        raise sf.LibsndfileError(1, "Internal error")

    monkeypatch.setattr(sf.SoundFile, "read", broken)
    with pytest.raises(AudioLoadError, match="corrupt"):
        load_checked(p, 16000)
