import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import chirp, noise, tone, write

from genrekit.cli import main
from genrekit.engine.local import preprocess
from genrekit.features import FeatureSpec
from genrekit.features.cache import FeatureCache

SPEC = FeatureSpec(names="mel", n_mels=32)


def bad_catalog(root, n_good=4, seconds=2.0):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_good):
        write(root / f"good{i}.wav", (tone(200 + 100 * i, seconds) + noise(seconds, amp=0.01,
                                                                         seed=i)))
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("not audio\n" * 50)
    write(root / "tiny.wav", tone(440, 0.2))
    mp3 = write(root / "full.mp3", chirp(100, 3000, 3.0))
    data = open(mp3, "rb").read()
    (root / "trunc.mp3").write_bytes(data[: len(data) // 2])
    os.remove(mp3)
    return root


def test_batch_goes_on_past_bad_files(tmp_path):
    src = bad_catalog(tmp_path / "in")
    paths = sorted(src.iterdir())
    seen = []
    res = preprocess(paths, SPEC, tmp_path / "cache", jobs=1,
                     progress=lambda p, s: seen.append(s))
    assert res.computed == 5 and res.cached == 0 and len(seen) == len(paths)
    failed = {os.path.basename(p): r for p, r in res.failures}
    assert set(failed) == {"empty.wav", "text.wav", "tiny.wav"}
    assert "empty file" in failed["empty.wav"]
    assert "not a recognised audio file" in failed["text.wav"]
    assert "too short: 0.20 s" in failed["tiny.wav"]
    cache = FeatureCache.open(tmp_path / "cache", SPEC)
    assert len(cache.entries()) == 5
    X = cache.get(res.keys[str(src / "good0.wav")])
    assert X.shape[:2] == (1, 32)
    again = preprocess(paths, SPEC, tmp_path / "cache", jobs=1)
    assert again.computed == 0 and again.cached == 5 and len(again.failures) == 3


def test_two_jobs_match_one_job(tmp_path):
    src = bad_catalog(tmp_path / "in", n_good=3)
    paths = sorted(src.iterdir())
    r1 = preprocess(paths, SPEC, tmp_path / "c1", jobs=1)
    r2 = preprocess(paths, SPEC, tmp_path / "c2", jobs=2)
    assert r1.keys == r2.keys and sorted(r1.failures) == sorted(r2.failures)
    c1, c2 = FeatureCache.open(tmp_path / "c1", SPEC), FeatureCache.open(tmp_path / "c2", SPEC)
    for k in r1.keys.values():
        np.testing.assert_array_equal(c1.get(k), c2.get(k))


def test_cli_exit_status_and_failures_csv(tmp_path, capsys):
    src = bad_catalog(tmp_path / "in", n_good=2)
    rc = main(["preprocess", str(src), "--features", "mel", "--n-mels", "32",
               "--cache-dir", str(tmp_path / "cache")])
    assert rc == 1
    rows = list(csv.DictReader(open(tmp_path / "cache" / "failures.csv")))
    assert sorted(os.path.basename(r["file"]) for r in rows) == ["empty.wav", "text.wav",
                                                                 "tiny.wav"]
    assert all(r["reason"] for r in rows)
    err = capsys.readouterr().err
    assert "failed: " in err and "empty.wav: empty file (0 bytes)" in err
    good = tmp_path / "good"
    good.mkdir()
    write(good / "a.wav", tone(300, 1.5))
    assert main(["preprocess", str(good), "--features", "mel", "--n-mels", "32",
                 "--cache-dir", str(tmp_path / "c2")]) == 0
    assert main(["preprocess", str(good), "--features", "mell"]) == 2
    assert "unknown feature 'mell'" in capsys.readouterr().err
    assert main(["preprocess", str(good), "--jobs", "0", "--cache-dir",
                 str(tmp_path / "c3")]) == 2


def test_sigkill_half_way_then_resume(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(16):
        write(src / f"s{i:02d}.wav", noise(20.0, amp=0.05, seed=i))
    cache_dir = tmp_path / "cache"
    cmd = [sys.executable, "-m", "genrekit.cli", "preprocess", str(src), "--features",
           "mel,hpss", "--cache-dir", str(cache_dir), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spec = FeatureSpec(names="mel,hpss")
    cache = FeatureCache.open(cache_dir, spec)
    deadline = time.time() + 120
    while len(cache.entries()) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = len(cache.entries())
    assert 0 < first < 16, f"kill landed at {first} entries"
    for p in cache.entries():  # every entry that exists is complete
        assert np.load(p).shape[:2] == (3, 128)
    res = preprocess(sorted(src.iterdir()), spec, cache_dir, jobs=1)
    assert res.ok and res.cached >= first and res.cached + res.computed == 16
    assert len(cache.entries()) == 16
    assert not list((cache_dir / cache.namespace).glob("*/.tmp-*"))


def test_rerun_reports_failures_without_decoding_and_sees_changed_files(tmp_path, monkeypatch):
    src = bad_catalog(tmp_path / "in", n_good=2)
    paths = sorted(src.iterdir())
    first = preprocess(paths, SPEC, tmp_path / "cache", jobs=1)
    from genrekit.engine.jobs import FileJob

    def no_decoding(*a, **k):
        raise AssertionError("a rerun decoded a file")

    monkeypatch.setattr(FileJob, "features", no_decoding)
    again = preprocess(paths, SPEC, tmp_path / "cache", jobs=1)
    assert sorted(again.failures) == sorted(first.failures) and again.cached == first.computed
    monkeypatch.undo()
    write(src / "good0.wav", tone(999, 2.0))  # new content under the same name: a miss
    third = preprocess(paths, SPEC, tmp_path / "cache", jobs=1)
    assert third.computed == 1 and third.keys[str(src / "good0.wav")] != first.keys[
        str(src / "good0.wav")]


def test_backends_have_separate_cache_entries(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write(src / "a.wav", noise(2.0))
    fast = preprocess([src / "a.wav"], SPEC, tmp_path / "c", backend="fast")
    ref = preprocess([src / "a.wav"], SPEC, tmp_path / "c", backend="reference")
    assert fast.computed == 1 and ref.computed == 1  # never served from the other's entry
    key = str(src / "a.wav")
    a = FeatureCache.open(tmp_path / "c", SPEC, backend="fast").get(fast.keys[key])
    b = FeatureCache.open(tmp_path / "c", SPEC, backend="reference").get(ref.keys[key])
    assert np.max(np.abs(a.astype(np.float32) - b.astype(np.float32))) < 0.05  # fp16 storage


def test_cli_csv_catalog_with_audio_dir(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    write(audio / "1.wav", tone(300, 1.5))
    write(audio / "2.wav", tone(500, 1.5))
    (tmp_path / "train.csv").write_text("Id,Genre\n1.wav,a\n2.wav,b\n3.wav,c\n")
    rc = main(["preprocess", str(tmp_path / "train.csv"), "--audio-dir", str(audio),
               "--features", "mel", "--n-mels", "32", "--cache-dir", str(tmp_path / "c")])
    assert rc == 1  # 3.wav is missing: reported, the other two cached
    rows = list(csv.DictReader(open(tmp_path / "c" / "failures.csv")))
    assert [r["file"] for r in rows] == ["3.wav"]
    assert len(FeatureCache.open(tmp_path / "c", SPEC).entries()) == 2


def test_engine_ray_without_ray_says_how_to_install(monkeypatch):
    from genrekit.engine.ray import require_ray
    from genrekit.errors import ParameterError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ParameterError, match=r"pip install 'genrekit\[ray\]'"):
        require_ray()
