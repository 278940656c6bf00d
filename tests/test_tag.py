import hashlib
import os
import stat

import numpy as np
import pytest
from conftest import toy_genre, write

pytest.importorskip("mutagen")

from genrekit import GenreClassifier, load_audio  # noqa: E402
from genrekit.cli import main  # noqa: E402
from genrekit.library import tagger  # noqa: E402
from genrekit.library.journal import Journal  # noqa: E402
from genrekit.library.tags import read_tag, write_tag  # noqa: E402

FORMATS = ["mp3", "ogg", "flac", "m4a"]


def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def make_song(path, genre=None, i=0):
    write(path, toy_genre(("tones", "noise", "chirps")[i % 3], 40 + i, seconds=2.5))
    write_tag(path, [f"Title {i}"], field="title")
    if genre:
        write_tag(path, [genre])
    return path


@pytest.fixture(scope="module")
def clf(tiny_checkpoint):
    return GenreClassifier.load(tiny_checkpoint)


@pytest.mark.parametrize("fmt", FORMATS)
def test_modes_and_audio_untouched(fmt, clf, tmp_path):
    label = None
    for mode, old, expect in (("fill", [], "L"), ("fill", ["Old"], None),
                              ("overwrite", ["Old"], "L"), ("append", ["Old"], "Old+L")):
        p = make_song(tmp_path / f"{mode}-{len(old)}.{fmt}", old[0] if old else None)
        y_before, _ = load_audio(p, sr=None)
        label = clf.predict(p).label
        [r] = tagger.tag_files([p], clf, mode=mode, min_confidence=0.0,
                               journal=tmp_path / "j.jsonl")
        want = {"L": [label], "Old+L": ["Old", label], None: old}[expect]
        assert read_tag(p) == want, (mode, old, r)
        assert r.action == ("written" if expect else "unchanged")
        assert read_tag(p, "title") == [f"Title {0}"]  # other tags kept
        y_after, _ = load_audio(p, sr=None)
        np.testing.assert_array_equal(y_before, y_after)  # the audio stream is unchanged


def test_dry_run_writes_nothing_and_undo_restores(clf, tmp_path):
    files = [make_song(tmp_path / f"s{i}.{fmt}", "Rock" if i % 2 else None, i)
             for i, fmt in enumerate(FORMATS)]
    before = {p: sha(p) for p in files}
    res = tagger.tag_files(files, clf, mode="overwrite", min_confidence=0.0, dry_run=True)
    assert {r.action for r in res} == {"would-write"}
    assert {p: sha(p) for p in files} == before
    old_tags = {p: read_tag(p) for p in files}
    j = tmp_path / "j.jsonl"
    res = tagger.tag_files(files, clf, mode="overwrite", min_confidence=0.0, journal=j)
    assert all(r.action == "written" for r in res)
    undone = tagger.undo(j)
    assert sorted(r.action for r in undone) == ["restored"] * 4
    assert {p: read_tag(p) for p in files} == old_tags
    assert all(read_tag(p, "title") for p in files)


def test_threshold_lists_uncertain(clf, tmp_path):
    p = make_song(tmp_path / "a.flac")
    [r] = tagger.tag_files([p], clf, min_confidence=1.0, journal=tmp_path / "j")
    assert r.action == "uncertain" and read_tag(p) == [] and "confidence" in r.reason


def test_kill_mid_run_then_rerun_no_duplicates_no_losses(clf, tmp_path, monkeypatch):
    files = [make_song(tmp_path / f"k{i}.{fmt}", "Old", i) for i, fmt in enumerate(FORMATS)]
    j = tmp_path / "j.jsonl"
    real_write, real_append = tagger.write_tag, Journal.append
    calls = {"write": 0, "done": 0}

    def write_then_die(path, values, field="genre"):  # 3rd write: killed before writing
        calls["write"] += 1
        if calls["write"] == 3:
            raise KeyboardInterrupt
        real_write(path, values, field)

    def die_before_second_done(self, **e):  # 2nd write: killed after writing, before 'done'
        if e.get("status") == "done":
            calls["done"] += 1
            if calls["done"] == 2:
                raise KeyboardInterrupt
        real_append(self, **e)

    monkeypatch.setattr(tagger, "write_tag", write_then_die)
    monkeypatch.setattr(Journal, "append", die_before_second_done)
    with pytest.raises(KeyboardInterrupt):
        tagger.tag_files(files, clf, mode="append", min_confidence=0.0, journal=j)
    monkeypatch.undo()
    res = tagger.tag_files(files, clf, mode="append", min_confidence=0.0, journal=j)
    assert sorted(r.action for r in res) == ["done-before", "done-before", "written",
                                             "written"]
    for p in files:
        vals = read_tag(p)
        assert vals[0] == "Old" and len(vals) == 2, vals  # appended once, never twice
    state = Journal(j).state()
    assert all(state[str(p)]["status"] == "done" for p in files)
    assert len(tagger.undo(j)) == 4 and all(read_tag(p) == ["Old"] for p in files)


def test_read_only_corrupt_and_unknown_files_are_reported(clf, tmp_path):
    ro = make_song(tmp_path / "ro.ogg")
    os.chmod(ro, stat.S_IREAD)
    (tmp_path / "bad.mp3").write_bytes(os.urandom(3000))
    write(tmp_path / "x.wav", toy_genre("tones", 1, seconds=2.0))
    good = make_song(tmp_path / "good.flac")
    paths = [ro, tmp_path / "bad.mp3", tmp_path / "x.wav", good]
    try:
        res = {os.path.basename(r.file): r for r in tagger.tag_files(
            paths, clf, min_confidence=0.0, journal=tmp_path / "j")}
    finally:
        os.chmod(ro, stat.S_IREAD | stat.S_IWRITE)
    assert res["ro.ogg"].action == "skipped" and res["ro.ogg"].reason == "read-only"
    assert res["bad.mp3"].action in ("skipped", "error") and res["bad.mp3"].reason
    assert res["x.wav"].action == "skipped" and "unsupported format" in res["x.wav"].reason
    assert res["good.flac"].action == "written"


def test_cli_tag_dry_run_undo_and_stats(tiny_checkpoint, tmp_path, capsys):
    d = tmp_path / "music"
    d.mkdir()
    for i, fmt in enumerate(FORMATS):
        make_song(d / f"t{i}.{fmt}", None, i)
    before = {p: sha(p) for p in d.iterdir()}
    base = ["tag", str(d), "--model", str(tiny_checkpoint), "--min-confidence", "0",
            "--journal", str(tmp_path / "j.jsonl"), "--db", str(tmp_path / "lib.sqlite")]
    assert main(base + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing written" in out and "4 would-write" in out
    assert {p: sha(p) for p in d.iterdir()} == before
    assert main(base) == 0 and "4 written" in capsys.readouterr().out
    assert main(base) == 0 and "4 done-before" in capsys.readouterr().out
    assert main(["library", "stats", "--db", str(tmp_path / "lib.sqlite"), "--png",
                 str(tmp_path / "s.png")]) == 0
    assert "4 files" in capsys.readouterr().out and (tmp_path / "s.png").exists()
    assert main(["tag", "--undo", str(tmp_path / "j.jsonl")]) == 0
    assert all(read_tag(p) == [] for p in d.iterdir())


def test_catalog_means_reruns_predict_only_new_or_changed_files(clf, tmp_path, monkeypatch):
    from genrekit.library.store import PredictionStore

    files = [make_song(tmp_path / f"c{i}.flac", None, i) for i in range(3)]
    db = PredictionStore(tmp_path / "lib.sqlite")
    tagger.tag_files(files, clf, min_confidence=0.0, dry_run=True, store=db)
    seen = []
    real = clf.predict_many

    def spy(paths, **kw):
        seen.extend(paths)
        return real(paths, **kw)

    monkeypatch.setattr(clf, "predict_many", spy)
    write(files[1], toy_genre("noise", 99, seconds=2.0))  # changed content
    tagger.tag_files(files, clf, min_confidence=0.0, dry_run=True, store=db)
    assert seen == [str(files[1])]
    assert sum(db.label_counts().values()) == 3


def test_file_changed_during_the_run_is_skipped(clf, tmp_path, monkeypatch):
    p = make_song(tmp_path / "moving.ogg")
    real = clf.predict_many

    def predict_then_change(paths, **kw):
        out = list(real(paths, **kw))
        write_tag(p, ["Edited meanwhile"], field="title")  # another program edits the file
        return out

    monkeypatch.setattr(clf, "predict_many", predict_then_change)
    [r] = tagger.tag_files([p], clf, min_confidence=0.0, journal=tmp_path / "j")
    assert r.action == "skipped" and r.reason == "file changed during the run"
    assert read_tag(p) == []


def test_unknown_songs_are_never_written(tiny_checkpoint, tmp_path, capsys):
    """A song the model abstains on keeps its tags untouched, in every mode, and the
    summary lists it. (The tiny model's probabilities are about 1/3: a min confidence of
    0.9 makes every song unknown, through the same path a novel song takes.)"""
    from genrekit.cli import main

    clf = GenreClassifier.load(tiny_checkpoint, min_confidence=0.9)
    songs = [make_song(tmp_path / f"s{i}.flac", i=i) for i in range(2)]
    songs.append(make_song(tmp_path / "s2.flac", genre="Hand Set", i=2))
    before = [sha(p) for p in songs]
    for mode in ("fill", "overwrite", "append"):
        res = tagger.tag_files(songs, clf, mode=mode, min_confidence=0.0,
                               journal=tmp_path / f"{mode}.jsonl")
        assert [r.action for r in res] == ["unknown"] * 3, res
        assert all(r.new is None and "closest" in r.reason for r in res)
    assert [sha(p) for p in songs] == before
    assert read_tag(songs[2]) == ["Hand Set"] and read_tag(songs[0]) == []
    # the CLI: --min-confidence is the same rule; the summary names the songs
    assert main(["tag", str(tmp_path), "--model", str(tiny_checkpoint), "--min-confidence",
                 "0.9", "--journal", str(tmp_path / "j.jsonl"),
                 "--db", str(tmp_path / "db.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "3 songs not tagged" in out and "s0.flac" in out
    assert [sha(p) for p in songs] == before
