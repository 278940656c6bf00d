"""Hostile or unlucky input (issue 17): nothing blocks, nothing is silently dropped, every
bad entry gets one true line."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import tone, write

from genrekit.audio import load_audio, load_checked
from genrekit.data.manifest import from_csv, scan_audio
from genrekit.errors import AudioLoadError, ParameterError

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


@pytest.mark.parametrize("rate", [32000, 44100, 8000])
def test_a_constant_signal_at_another_rate_is_refused_before_resampling(tmp_path, rate):
    """The resampler's edge transient (ptp ~0.07 from a 0.25 DC level) must not pass a
    constant signal as sound: the refusal looks at the signal as recorded."""
    from genrekit.audio import array_audio

    dc = np.full(2 * rate, 0.25, np.float32)
    write(tmp_path / "dc.wav", dc, sr=rate)
    with pytest.raises(AudioLoadError, match="constant"):
        load_checked(tmp_path / "dc.wav", 16000)
    with pytest.raises(AudioLoadError, match="constant"):
        array_audio(dc, rate, 16000)
    with pytest.raises(AudioLoadError, match="NaN"):
        array_audio(np.full(2 * rate, np.nan, np.float32), rate, 16000)


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
    with pytest.raises(ParameterError, match=r"cat.csv row 2 says .*'train'.*cat.csv row 4 "
                                             r"says .*'valid'"):
        from_csv(tmp_path / "cat.csv")  # one file in two splits: a conflict, both rows named
    cat = from_csv(tmp_path / "cat.csv", on_conflict="first")
    assert [(t.path.name, t.split) for t in cat] == [("a.wav", "train"), ("b.wav", "train")]
    assert not cat.missing and len(cat.notes) == 1 and "the first is used" in cat.notes[0][1]


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


def test_a_file_replaced_while_it_is_read_never_poisons_the_cache(tmp_path, monkeypatch):
    from genrekit.engine import jobs
    from genrekit.engine.local import preprocess
    from genrekit.features import FeatureSpec

    spec = FeatureSpec(names=("mel",), n_mels=32)
    song = write(tmp_path / "a.wav", tone(440, 2.0))
    real = jobs.FileJob.features

    def swapped(self, path):  # another song arrives under the same name mid-read
        X = real(self, path)
        write(path, tone(880, 2.0))
        return X

    monkeypatch.setattr(jobs.FileJob, "features", swapped)
    res = preprocess([song], spec, tmp_path / "c")
    assert res.failures == [(str(song), jobs.CHANGED)] and res.computed == 0
    monkeypatch.undo()
    again = preprocess([song], spec, tmp_path / "c")  # the new content is computed afresh
    assert again.computed == 1 and not again.failures


def test_workers_die_with_a_killed_parent(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import os, signal, sys, time\n"
        "from genrekit.engine.pool import worker_pool\n"
        "with worker_pool(2) as pool:\n"
        "    futs = [pool.submit(time.sleep, 60) for _ in range(2)]\n"
        "    time.sleep(2)\n"
        "    print(' '.join(str(p) for p in pool._processes), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2 and out.returncode == -signal.SIGKILL
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("meta,why", [
    ("{not json", "not JSON"),
    ("[1, 2]", "JSON list"),
    ('{"features": {}, "slices": {}, "model": {}}', "lacks classes"),
    ("CLASSES5", "outputs 3 classes but its metadata names 5"),
    ("CHANNELS", "channels"),
])
def test_onnx_files_with_bad_metadata_get_a_typed_error(meta, why, tmp_path, tiny_checkpoint):
    import json as _json

    import onnx

    from genrekit.errors import CheckpointError
    from genrekit.export import export_onnx
    from genrekit.inference.classifier import load_classifier

    good = export_onnx(tiny_checkpoint, tmp_path / "good.onnx")
    m = onnx.load(str(good))
    entry = next(p for p in m.metadata_props if p.key == "genrekit")
    real = _json.loads(entry.value)
    if meta == "CLASSES5":
        meta = _json.dumps({**real, "classes": ["a", "b", "c", "d", "e"]})
    elif meta == "CHANNELS":
        meta = _json.dumps({**real, "features": {**real["features"],
                                                 "names": ["mel", "hpss"]}})
    entry.value = meta
    onnx.save(m, str(tmp_path / "bad.onnx"))
    with pytest.raises(CheckpointError, match=why):
        load_classifier(tmp_path / "bad.onnx")


def test_a_checkpoint_with_unknown_model_options_gets_a_typed_error(tmp_path, tiny_checkpoint):
    from genrekit.checkpoint import load_checkpoint, save_checkpoint
    from genrekit.errors import CheckpointError
    from genrekit.inference.classifier import load_classifier

    ck = load_checkpoint(tiny_checkpoint)
    ck = {k: v for k, v in ck.items() if k not in ("format", "format_version")}
    ck["model"] = {**ck["model"], "kwargs": {"evil": 1}}
    save_checkpoint(tmp_path / "crafted.pt", ck)
    with pytest.raises(CheckpointError, match=r"model options \['evil'\] do not fit"):
        load_classifier(tmp_path / "crafted.pt")


def test_fifos_given_by_name_never_block_preprocess_or_tag(tmp_path, tiny_checkpoint, capsys):
    from genrekit.cli import main

    os.mkfifo(tmp_path / "p.wav")
    os.mkfifo(tmp_path / "p.mp3")
    assert main(["preprocess", str(tmp_path / "p.wav"), "--cache-dir", str(tmp_path / "c")]) == 1
    assert "p.wav: not a regular file" in capsys.readouterr().err
    pytest.importorskip("mutagen")
    assert main(["tag", str(tmp_path / "p.mp3"), "--dry-run", "--model",
                 str(tiny_checkpoint)]) == 1
    assert "p.mp3: not a regular file" in capsys.readouterr().err


def test_a_full_disk_is_named_and_never_a_traceback(tmp_path, monkeypatch):
    import errno

    from genrekit import fileio
    from genrekit.engine.local import preprocess
    from genrekit.features import FeatureSpec
    from genrekit.features.cache import FeatureCache

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    song = write(tmp_path / "a.wav", tone(440, 2.0))
    monkeypatch.setattr(FeatureCache, "put", full)
    monkeypatch.setattr(fileio, "atomic_write_text", full)  # digests.json too
    res = preprocess([song], FeatureSpec(names=("mel",), n_mels=32), tmp_path / "c")
    assert res.failures == [(str(song), "cannot write the feature cache: No space left on "
                                        "device")]


def _socket_file(path):
    import socket

    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    return s


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_no_path_argument_blocks_on_a_fifo_or_socket(kind, tmp_path, tiny_checkpoint, capsys):
    """Every place a path is accepted: audio, model files (.pt, .onnx), catalogs (CSV),
    split lists, configs, journals."""
    from genrekit.cli import main

    def special(name):
        p = tmp_path / name
        if kind == "fifo":
            os.mkfifo(p)
        else:
            keep.append(_socket_file(p))
        return str(p)

    keep = []
    song = write(tmp_path / "ok.wav", tone(440, 2.0))
    word = "named pipe" if kind == "fifo" else "socket"
    calls = [
        (["predict", special("a.wav"), "--model", str(tiny_checkpoint)], 1),
        (["predict", song, "--model", special("m.pt")], 1),
        (["predict", song, "--model", special("m.onnx")], 1),
        (["features", special("f.wav")], None),
        (["evaluate", str(tiny_checkpoint), special("c.csv")], 2),
        (["train", str(tmp_path), "--out", str(tmp_path / "r"), "--config",
          special("cfg.yaml")], 2),
        (["tag", "--undo", special("j.jsonl")], 2),
    ]
    for argv, rc in calls:
        got = main(argv)
        err = capsys.readouterr().err
        assert word in err, (argv, err)
        assert got != 0 and (rc is None or got == rc), (argv, got)
    for s in keep:
        s.close()


def test_an_array_gets_the_same_decode_policy_as_a_file(tiny_checkpoint):
    """Loud float data past full scale is scaled into [-1, 1] whether it comes from a file
    or from a caller's array, so the label cannot depend on the gain either way."""
    from genrekit.inference.classifier import load_classifier

    clf = load_classifier(tiny_checkpoint)
    y = tone(440, 2.0) + 0.2 * tone(1234, 2.0)
    loud, norm = clf.predict(40 * y, sr=22050), clf.predict(y / np.abs(y).max(), sr=22050)
    assert loud.scores == pytest.approx(norm.scores, abs=1e-5)
