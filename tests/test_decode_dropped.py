"""What was dropped is said (issue 32): a long mp3 damaged midway is resynced past the
damage, libmpg123's own stderr lines never reach the user, a chained Ogg says that only its
first stream was analysed, and --set on a model without calibration is a usage error."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf

from genrekit.audio import load_checked
from genrekit.audio_stream import ogg_chain_links
from genrekit.errors import DecodeWarning

SR = 22050


def sine(seconds, sr=SR, f=440.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def write_blocks(path, y, sr):
    with sf.SoundFile(str(path), "w", sr, 1) as f:  # one call for minutes of Vorbis crashes
        for i in range(0, len(y), sr):             # some libsndfile builds
            f.write(y[i:i + sr])
    return path


@pytest.fixture(scope="module")
def damaged_mp3(tmp_path_factory):
    d = tmp_path_factory.mktemp("dmg")
    write_blocks(d / "clean.mp3", sine(150), SR)
    raw = (d / "clean.mp3").read_bytes()
    mid = len(raw) // 2
    junk = np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    (d / "damaged.mp3").write_bytes(raw[:mid] + junk + raw[mid:])
    return d / "damaged.mp3"


def test_a_long_mp3_damaged_midway_is_analysed_past_the_damage(damaged_mp3):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        y = load_checked(damaged_mp3, 16000, max_duration=None)
    assert len(y) / 16000 > 140  # not the 70 s before the damage
    [w] = [w for w in seen if issubclass(w.category, DecodeWarning)]
    assert "damaged at" in str(w.message) and "resynced" in str(w.message)


def test_the_cli_says_it_in_one_line_and_hides_libmpg123(damaged_mp3):
    r = subprocess.run([sys.executable, "-m", "genrekit.cli", "predict", str(damaged_mp3),
                        "--max-duration", "0", "--format", "csv"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for noise in ("Note: Illegal", "Trying to resync", "libmpg123", "Xing stream size"):
        assert noise not in r.stderr, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(lines) == 1 and "damaged.mp3: decode damaged at" in lines[0], r.stderr


@pytest.mark.parametrize("first_seconds", [20, 130])  # the one-shot and the streamed path
def test_a_chained_ogg_says_only_its_first_stream_was_analysed(tmp_path, first_seconds):
    a = write_blocks(tmp_path / "a.ogg", sine(first_seconds), SR)
    b = write_blocks(tmp_path / "b.ogg", sine(30, 16000, 220.0), 16000)
    chained = tmp_path / "chained.ogg"
    chained.write_bytes(a.read_bytes() + b.read_bytes())
    assert (ogg_chain_links(a), ogg_chain_links(chained)) == (1, 2)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        load_checked(a, 16000, max_duration=None)
        assert not [w for w in seen if issubclass(w.category, DecodeWarning)]
        load_checked(chained, 16000, max_duration=None)
    [w] = [w for w in seen if issubclass(w.category, DecodeWarning)]
    assert "chained Ogg of 2 streams: only the first" in str(w.message)


def test_set_without_calibration_is_a_usage_error(tmp_path, tiny_checkpoint, capsys):
    from conftest import toy_genre, write

    from genrekit.cli import main
    from genrekit.inference.classifier import load_classifier

    if load_classifier(str(tiny_checkpoint)).open_set is not None:
        pytest.skip("the tiny model has a novelty model here")
    clip = write(tmp_path / "a.wav", toy_genre("tones", 1, seconds=3.0))
    out = tmp_path / "p.csv"
    assert main(["predict", clip, "--model", str(tiny_checkpoint), "--set", "0.9",
                 "--format", "csv", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no prediction sets" in err[0] and "--set" in err[0], err
    assert not out.exists()
