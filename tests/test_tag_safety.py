"""Tagging keeps files what they are (links, owners) and its journal is trustworthy:
undo from anywhere, interrupted and tampered journals (issue 17)."""

from __future__ import annotations

import json
import os

import pytest
from test_tag import make_song, sha

pytest.importorskip("mutagen")

from genrekit.cli import main  # noqa: E402
from genrekit.library import tagger  # noqa: E402
from genrekit.library.tags import read_tag, write_tag  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def clf(tiny_checkpoint):
    from genrekit import GenreClassifier

    return GenreClassifier.load(tiny_checkpoint)


def test_a_symlink_stays_a_link_and_undo_restores_through_it(clf, tmp_path):
    real = make_song(tmp_path / "real.flac")
    (tmp_path / "lib").mkdir()
    link = tmp_path / "lib" / "song.flac"
    link.symlink_to(real)
    j = tmp_path / "j.jsonl"
    [r] = tagger.tag_files([link], clf, min_confidence=0.0, journal=j)
    assert r.action == "written" and link.is_symlink() and read_tag(real) == r.new
    assert [u.action for u in tagger.undo(j)] == ["restored"]
    assert link.is_symlink() and read_tag(real) == []


def test_hard_links_stay_one_file(clf, tmp_path):
    a = make_song(tmp_path / "a.flac")
    b = tmp_path / "b.flac"
    os.link(a, b)
    [r] = tagger.tag_files([a], clf, min_confidence=0.0)
    assert r.action == "written"
    assert os.stat(a).st_ino == os.stat(b).st_ino and read_tag(b) == r.new


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a file as another user")
def test_owner_group_and_mode_are_kept(clf, tmp_path):
    p = make_song(tmp_path / "theirs.flac")
    os.chown(p, 65534, 65534)
    os.chmod(p, 0o664)
    write_tag(p, ["Jazz"])
    st = os.stat(p)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (65534, 65534, 0o664)


def test_undo_from_another_folder(clf, tmp_path, monkeypatch):
    (tmp_path / "music").mkdir()
    make_song(tmp_path / "music" / "x.flac")
    monkeypatch.chdir(tmp_path)
    j = tmp_path / "j.jsonl"
    [r] = tagger.tag_files(["music/x.flac"], clf, min_confidence=0.0, journal=j)
    assert r.action == "written"
    monkeypatch.chdir(tmp_path / "music")  # elsewhere
    assert [u.action for u in tagger.undo(j)] == ["restored"]
    assert read_tag(tmp_path / "music" / "x.flac") == []


def test_a_journal_cut_between_write_and_done_is_undone(clf, tmp_path):
    p = make_song(tmp_path / "cut.flac", "Old")
    j = tmp_path / "j.jsonl"
    tagger.tag_files([p], clf, mode="overwrite", min_confidence=0.0, journal=j)
    lines = j.read_text().splitlines()
    assert json.loads(lines[-1])["status"] == "done"
    j.write_text("\n".join(lines[:-1]) + "\n")  # the kill came before the done line
    [u] = tagger.undo(j)
    assert u.action == "restored" and "interrupted" in u.reason and read_tag(p) == ["Old"]


def test_a_planned_write_that_never_happened_is_reported_not_guessed(clf, tmp_path):
    p = make_song(tmp_path / "never.flac", "Old")
    j = tmp_path / "j.jsonl"
    j.write_text(json.dumps({"file": str(p), "status": "planned", "hash_before": "x" * 32,
                             "old": ["Old"], "new": ["Jazz"]}) + "\n")
    [u] = tagger.undo(j)  # the file holds neither the planned values nor its old hash
    assert u.action == "skipped" and read_tag(p) == ["Old"]


def test_a_tampered_journal_gives_errors_not_a_traceback(clf, tmp_path, capsys):
    p = make_song(tmp_path / "t.flac")
    j = tmp_path / "j.jsonl"
    tagger.tag_files([p], clf, min_confidence=0.0, journal=j)
    with open(j, "a") as f:
        f.write('["a", "list"]\n{"status": "done"}\n{"file": "z", "status": "planned"}\n')
    assert main(["tag", "--undo", str(j)]) == 1
    err = capsys.readouterr().err
    assert "journal line skipped: a JSON list" in err and "no file" in err
    assert read_tag(p) == []  # the good entry was still undone


def test_dry_run_reports_read_only_as_the_real_run_does_and_a_fifo_never_blocks(
        clf, tmp_path, capsys):
    p = make_song(tmp_path / "ro.flac")
    os.chmod(p, 0o444)
    os.mkfifo(tmp_path / "pipe.mp3")
    before = sha(p)
    rc = main(["tag", str(tmp_path), "--dry-run", "--min-confidence", "0",
               "--model", str(clf.source)])
    out = capsys.readouterr()
    assert rc == 1 and "skipped: " in out.err and "read-only" in out.err
    assert "pipe.mp3: not a regular file" in out.err and sha(p) == before
