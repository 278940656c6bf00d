"""The beets plugin against a real temporary beets library (beets from PyPI)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import toy_genre, write

pytest.importorskip("beets")
pytest.importorskip("mutagen")


def beet(beetsdir, *args):
    exe = Path(sys.executable).parent / "beet"
    env = {**os.environ, "BEETSDIR": str(beetsdir)}
    out = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout + out.stderr


def setup_library(tmp_path, model, *, auto):
    music = tmp_path / "music"
    music.mkdir()
    for i, (label, fmt) in enumerate((("tones", "mp3"), ("noise", "flac"), ("chirps", "ogg"))):
        write(music / f"{label}{i}.{fmt}", toy_genre(label, 70 + i, seconds=2.5))
    bd = tmp_path / "beetsdir"
    bd.mkdir()
    (bd / "config.yaml").write_text(f"""
directory: {tmp_path / 'lib'}
library: {tmp_path / 'library.db'}
plugins: [genrekit]
import:
    copy: no
    write: no
    autotag: no
    log: {tmp_path / 'import.log'}
genrekit:
    model: {model}
    min_confidence: 0.0
    write_genre: yes
    auto: {'yes' if auto else 'no'}
""")
    beet(bd, "import", "-A", "-q", str(music))
    return bd


def items(tmp_path):
    from beets.library import Library

    lib = Library(str(tmp_path / "library.db"))
    return {Path(os.fsdecode(i.path)).name: (i.get("genrekit_genre"), i.get("genrekit_score"),
                                              list(i.genres or [])) for i in lib.items()}


def test_beet_genrekit_command_sets_fields(tiny_checkpoint, tmp_path):
    from genrekit import GenreClassifier

    bd = setup_library(tmp_path, tiny_checkpoint, auto=False)
    assert all(v[0] is None for v in items(tmp_path).values())  # auto off: nothing yet
    beet(bd, "genrekit", "--dry-run")
    assert all(v[0] is None for v in items(tmp_path).values())  # dry run stores nothing
    beet(bd, "genrekit")
    got = items(tmp_path)
    clf = GenreClassifier.load(tiny_checkpoint)
    assert len(got) == 3
    for name, (label, score, genres) in got.items():
        pred = clf.predict(tmp_path / "music" / name)
        assert label == pred.label and abs(float(score) - pred.score) < 1e-3
        assert genres == [label]


def test_import_hook_predicts_on_import(tiny_checkpoint, tmp_path):
    setup_library(tmp_path, tiny_checkpoint, auto=True)
    got = items(tmp_path)
    assert len(got) == 3 and all(v[0] in ("chirps", "noise", "tones") for v in got.values())


def test_several_mapped_genres_pretend_and_a_bad_map(tiny_checkpoint, tmp_path):
    bd = setup_library(tmp_path, tiny_checkpoint, auto=False)
    (tmp_path / "map.yaml").write_text("tones: Tone Music\nnoise: Noise\n")
    cfg = bd / "config.yaml"
    cfg.write_text(cfg.read_text() + f"""    max_genres: 3
    min_score: 0.0
    genre_map: {tmp_path / 'map.yaml'}
    source: album
""")
    beet(bd, "genrekit", "-p")
    assert all(v[0] is None for v in items(tmp_path).values())  # pretend: nothing stored
    beet(bd, "genrekit")
    got = items(tmp_path)
    for label, _, genres in got.values():
        # the tiny model's three genres, in the user's words; one album (a folder): the same
        assert sorted(genres) == ["Noise", "Tone Music", "chirps"] and label == genres[0]
    assert len({tuple(v[2]) for v in got.values()}) == 1
    (tmp_path / "map.yaml").write_text("tones: [unclosed\n")
    exe = Path(sys.executable).parent / "beet"
    out = subprocess.run([str(exe), "genrekit"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "BEETSDIR": str(bd)})
    assert out.returncode != 0 and "not a readable YAML" in out.stderr, out.stderr[-1000:]
