import csv
import io
import json
import re

import numpy as np
import pytest
import soundfile as sf
from conftest import SR, toy_genre, write

from genrekit import GenreClassifier
from genrekit.cli import main
from genrekit.errors import CheckpointError, ParameterError


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    d = tmp_path_factory.mktemp("songs")
    for i, label in enumerate(("tones", "noise", "chirps")):
        write(d / f"{label}.wav", toy_genre(label, 500 + i, seconds=3.0))
    return d


def test_classifier_api(tiny_checkpoint, songs):
    clf = GenreClassifier.load(tiny_checkpoint)
    assert clf.classes_ == ["chirps", "noise", "tones"]
    p = clf.predict(songs / "tones.wav", top_k=2)
    assert p.label in clf.classes_ and len(p.top_k) == 2 and p.top_k[0][0] == p.label
    assert sum(p.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.duration == pytest.approx(3.0, abs=0.05)
    assert p.timeline[0].start == 0 and p.timeline[-1].end == pytest.approx(p.duration, abs=0.05)
    assert all(s.label in clf.classes_ for s in p.timeline) and len(p.timeline) >= 4
    proba = clf.predict_proba(songs / "tones.wav")
    np.testing.assert_allclose(proba, [p.scores[c] for c in clf.classes_], rtol=1e-6)


def test_array_equals_file(tiny_checkpoint, tmp_path):
    clf = GenreClassifier.load(tiny_checkpoint)
    y = toy_genre("chirps", 7, seconds=2.5)
    sf.write(tmp_path / "c.wav", y, SR, subtype="FLOAT")
    a, b = clf.predict(y, sr=SR), clf.predict(tmp_path / "c.wav")
    assert a.label == b.label
    np.testing.assert_allclose(list(a.scores.values()), list(b.scores.values()), atol=1e-6)
    y44 = clf.predict(np.repeat(y, 2), sr=2 * SR)  # another rate is resampled, not assumed
    assert set(y44.scores) == set(a.scores)
    with pytest.raises(ParameterError, match="sr is required"):
        clf.predict(y)


def test_batch_matches_single_and_survives_bad_files(tiny_checkpoint, songs, tmp_path):
    clf = GenreClassifier.load(tiny_checkpoint)
    (tmp_path / "bad.wav").write_text("nope")
    write(tmp_path / "silent.wav", np.zeros(SR * 2, np.float32))
    paths = [songs / "tones.wav", tmp_path / "bad.wav", songs / "noise.wav",
             tmp_path / "silent.wav", songs / "chirps.wav"]
    for jobs in (1, 2):
        out = list(clf.predict_many(paths, jobs=jobs, songs_per_batch=2))
        assert [o[0] for o in out] == [str(p) for p in paths]
        assert out[1][1] is None and "not a recognised audio file" in out[1][2]
        assert out[3][1] is None and "silent" in out[3][2]
        for p, pred, err in out:
            if err is None:
                single = clf.predict(p)
                np.testing.assert_allclose(list(pred.scores.values()),
                                           list(single.scores.values()), atol=1e-5)


def test_cli_formats(tiny_checkpoint, songs, tmp_path, capsys):
    base = ["predict", str(songs), "--model", str(tiny_checkpoint)]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "tones.wav" in out and "top 3" in out
    assert main(base + ["--timeline"]) == 0
    assert re.search(r"timeline \(\d+ slices\):", capsys.readouterr().out)
    assert main(base + ["--format", "json", "--timeline"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert len(js["predictions"]) == 3 and js["errors"] == []
    assert {"label", "scores", "top_k", "timeline"} <= set(js["predictions"][0])
    assert js["model"]["classes"] == ["chirps", "noise", "tones"]
    assert main(base + ["--format", "csv", "--top-k", "2"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 3 and {"file", "label", "score", "chirps", "error"} <= set(rows[0])
    assert all(r["top_k"].count(":") == 2 for r in rows)
    assert main(base + ["--format", "zalo", "--out", str(tmp_path / "sub.csv")]) == 0
    lines = (tmp_path / "sub.csv").read_text().splitlines()
    assert lines[0] == "Id,Genre" and sorted(ln.split(",")[0] for ln in lines[1:]) == [
        "chirps.wav", "noise.wav", "tones.wav"]
    assert main(base + ["--timeline-png", str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "t.png").stat().st_size > 5000


def test_cli_bad_files_and_errors(tiny_checkpoint, songs, tmp_path, capsys):
    (tmp_path / "broken.mp3").write_bytes(b"\x00" * 100)
    rc = main(["predict", str(songs / "tones.wav"), str(tmp_path / "broken.mp3"),
               str(tmp_path / "gone.ogg"), "--model", str(tiny_checkpoint)])
    assert rc == 1
    captured = capsys.readouterr()
    assert "tones.wav" in captured.out
    err_lines = [ln for ln in captured.err.splitlines() if ln.startswith("error: ")]
    assert len(err_lines) == 2 and any("broken.mp3" in ln for ln in err_lines)
    assert any("gone.ogg: not found" in ln for ln in err_lines)
    assert main(["predict", str(songs), "--model", str(tmp_path / "nope.pt")]) == 1
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["predict", str(songs), "--top-k", "0", "--model", str(tiny_checkpoint)]) == 2
    with pytest.raises(CheckpointError):
        GenreClassifier.load(tmp_path / "broken.mp3")


def test_torch_feature_path_matches_cpu_path(tiny_checkpoint, songs):
    """The path a GPU takes (audio decoded, features by TorchFeatures) gives the CPU's answer."""
    clf = GenreClassifier.load(tiny_checkpoint)
    ref = {p: pr for p, pr, _ in clf.predict_many(sorted(songs.iterdir()))}
    clf.feature_backend = "torch"  # as chosen automatically on a CUDA device
    for p, pred, err in clf.predict_many(sorted(songs.iterdir()), jobs=2):
        assert err is None and pred.label == ref[p].label
        np.testing.assert_allclose(list(pred.scores.values()), list(ref[p].scores.values()),
                                   atol=1e-4)


def test_test_time_augmentation(tiny_checkpoint, songs, capsys):
    plain = GenreClassifier.load(tiny_checkpoint)
    tta = GenreClassifier.load(tiny_checkpoint, tta=1)
    p = songs / "tones.wav"
    a, b = plain.predict(p), tta.predict(p)
    assert len(a.timeline) == len(b.timeline)
    assert sum(b.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert any(abs(a.scores[c] - b.scores[c]) > 1e-6 for c in plain.classes_)
    X = plain.features(p)
    (P0,), _ = plain.slice_probs([X])
    F = X.shape[1]
    up = plain.slice_probs([X[:, np.clip(np.arange(F) - 1, 0, F - 1)]])[0][0]
    down = plain.slice_probs([X[:, np.clip(np.arange(F) + 1, 0, F - 1)]])[0][0]
    (Pt,), _ = tta.slice_probs([X])
    np.testing.assert_allclose(Pt, (P0 + up + down) / 3, atol=1e-6)
    assert main(["predict", str(p), "--model", str(tiny_checkpoint), "--tta", "1"]) == 0


def test_long_files_say_only_the_start_was_analysed(tiny_checkpoint, tmp_path, capsys):
    write(tmp_path / "long.wav", toy_genre("noise", 3, seconds=6.0))
    clf = GenreClassifier.load(tiny_checkpoint, max_duration=4.0)
    p = clf.predict(tmp_path / "long.wav")
    assert p.duration == pytest.approx(4.0, abs=0.05)
    from genrekit.commands.predict_formats import table

    out = table([p], [], clf, timeline=False)
    assert "(first 4 s)" in out
