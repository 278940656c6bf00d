"""Hostile or unlucky input (issue 17): nothing blocks, nothing is silently dropped, every
bad entry gets one true line."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import tone, write

from genrekit.audio import load_audio, load_checked
from genrekit.data.manifest import from_csv, scan_audio
from genrekit.errors import AudioLoadError

pytestmark = pytest.mark.timeout(60)  # a hang fails fast


def test_a_fifo_named_as_audio_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioLoadError, match="named pipe"):
        load_audio(fifo)


def test_folder_scans_report_fifos_dangling_links_and_loops(tmp_path):
    write(tmp_path / "good.wav", tone(440, 2.0))
    os.mkfifo(tmp_path / "pipe.mp3")
    (tmp_path / "gone.ogg").symlink_to(tmp_path / "nowhere.ogg")
    (tmp_path / "loop.flac").symlink_to(tmp_path / "loop.flac")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "back").symlink_to(tmp_path)  # a folder loop is not followed
    cat = scan_audio([tmp_path])
    assert [t.path.name for t in cat] == ["good.wav"]
    reasons = {os.path.basename(p): r for p, r in cat.missing}
    assert reasons["pipe.mp3"] == "not a regular file: a named pipe (FIFO)"
    assert "broken symbolic link" in reasons["gone.ogg"]
    assert "cannot read" in reasons["loop.flac"]


def test_predict_over_a_folder_with_a_fifo_finishes(tmp_path, tiny_checkpoint, capsys):
    from genrekit.cli import main

    write(tmp_path / "good.wav", tone(440, 2.0))
    os.mkfifo(tmp_path / "pipe.wav")
    assert main(["predict", str(tmp_path), "--model", str(tiny_checkpoint)]) == 1
    assert "pipe.wav: not a regular file" in capsys.readouterr().err


def test_float_audio_past_full_scale_is_brought_into_range(tmp_path):
    import soundfile as sf

    y = tone(440, 2.0)
    sf.write(tmp_path / "loud.wav", 40 * y, 22050, subtype="FLOAT")
    sf.write(tmp_path / "norm.wav", y / np.abs(y).max(), 22050, subtype="FLOAT")
    loud, _ = load_audio(tmp_path / "loud.wav", sr=None)
    norm, _ = load_audio(tmp_path / "norm.wav", sr=None)
    assert np.abs(loud).max() <= 1.0
    np.testing.assert_allclose(loud, norm, atol=1e-6)  # its label cannot depend on the gain


def test_a_constant_signal_is_refused_like_silence(tmp_path):
    write(tmp_path / "dc.wav", np.full(44100, 0.5, np.float32))
    with pytest.raises(AudioLoadError, match="constant"):
        load_checked(tmp_path / "dc.wav", 22050)


def test_random_bytes_get_a_true_reason(tmp_path):
    p = tmp_path / "noise.mp3"
    p.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioLoadError) as err:
        load_audio(p)
    assert "pipe" not in err.value.reason and "not a recognised audio file" in err.value.reason


def test_semicolon_csv_and_a_file_listed_twice(tmp_path):
    write(tmp_path / "a.wav", tone(440, 2.0))
    write(tmp_path / "b.wav", tone(660, 2.0))
    (tmp_path / "cat.csv").write_text(
        f"file;genre;split\na.wav;x;train\nb.wav;y;train\n{tmp_path / 'a.wav'};x;valid\n")
    cat = from_csv(tmp_path / "cat.csv")
    assert [(t.path.name, t.split) for t in cat] == [("a.wav", "train"), ("b.wav", "train")]
    assert len(cat.missing) == 1 and "listed twice" in cat.missing[0][1]


def test_evaluate_names_missing_files_and_unknown_labels(tmp_path, tiny_checkpoint, capsys):
    from genrekit.cli import main

    for i, g in enumerate(("tones", "noise")):
        write(tmp_path / f"{g}{i}.wav", tone(300 + 200 * i, 2.0))
    write(tmp_path / "odd.wav", tone(900, 2.0))
    (tmp_path / "cat.csv").write_text("file,genre\ntones0.wav,tones\nnoise1.wav,noise\n"
                                      "gone.wav,tones\nodd.wav,polka\n")
    rc = main(["evaluate", str(tiny_checkpoint), str(tmp_path / "cat.csv"), "--cache-dir",
               str(tmp_path / "c"), "--out", str(tmp_path / "ev")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "skipped: gone.wav: file not found" in err
    assert "odd.wav: label 'polka' is not one of the model's classes" in err


def test_error_lines_stay_one_line_whatever_the_file_name(tmp_path, tiny_checkpoint, capsys):
    from genrekit.cli import main

    bad = tmp_path / "two\nlines.wav"
    bad.write_bytes(b"not audio at all")
    assert main(["predict", str(bad), "--model", str(tiny_checkpoint)]) == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "two\\nlines.wav" in lines[0]
