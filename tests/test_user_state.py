"""State lives in the user's data and cache folders, never the current folder (issue 32)."""

from __future__ import annotations

import json
import os

from conftest import toy_genre, write

from genrekit.cli import main


def test_tag_and_caches_default_to_the_user_folders_not_the_cwd(tmp_path, monkeypatch,
                                                                 tiny_checkpoint, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("GENREKIT_HOME", str(home))
    music, stand = tmp_path / "music", tmp_path / "here"
    music.mkdir(), stand.mkdir()
    write(music / "a.flac", toy_genre("tones", 1, seconds=2.0))
    monkeypatch.chdir(stand)
    assert main(["tag", str(music), "--model", str(tiny_checkpoint), "--min-confidence",
                 "0"]) == 0
    assert (home / "data" / "library.sqlite").is_file()
    assert (home / "data" / "tags.jsonl").is_file()
    assert main(["library", "stats"]) == 0  # finds the same store from anywhere
    assert main(["suggest", str(music), "--n", "1", "--model", str(tiny_checkpoint)]) == 0
    assert any((home / "cache").iterdir())
    assert os.listdir(stand) == []  # nothing left where the user stood
    capsys.readouterr()
    assert main(["info", "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["prediction_store"] == str(home / "data" / "library.sqlite")
    assert [f["path"] for f in info["folders"]] == [str(home / "data"), str(home / "cache")]
    assert info["folders"][1]["files"] > 0


def test_a_named_cache_folder_still_works(tmp_path, monkeypatch, tiny_checkpoint):
    monkeypatch.setenv("GENREKIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.wav", toy_genre("tones", 2, seconds=2.0))
    assert main(["suggest", str(tmp_path / "a.wav"), "--n", "1", "--labels", "l.csv",
                 "--model", str(tiny_checkpoint), "--cache-dir", "cache"]) == 0
    assert any((tmp_path / "cache").iterdir()) and not (tmp_path / "home" / "cache").exists()
