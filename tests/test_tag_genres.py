"""Library tagging people would switch to: several genres as real multi-value tags, albums,
the user's vocabulary, existing genres kept or replaced (and restored by undo)."""

from __future__ import annotations

import hashlib

import pytest
from conftest import toy_genre, write

pytest.importorskip("mutagen")

from genrekit import GenreClassifier  # noqa: E402
from genrekit.cli import main  # noqa: E402
from genrekit.errors import ConfigError, ParameterError  # noqa: E402
from genrekit.library import tagger  # noqa: E402
from genrekit.library.choose import TagPlan, genres_for, group_key, group_scores  # noqa: E402
from genrekit.library.tags import read_tag, write_tag  # noqa: E402
from genrekit.library.vocabulary import Vocabulary  # noqa: E402

FORMATS = ["mp3", "flac", "ogg", "opus", "m4a"]


@pytest.fixture(scope="module")
def clf(tiny_checkpoint):
    return GenreClassifier.load(tiny_checkpoint)


def song(path, i=0):
    write(path, toy_genre(("tones", "noise", "chirps")[i % 3], 90 + i, seconds=2.5))
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_three_genres_are_three_values_and_undo_restores_the_very_same_bytes(fmt, clf, tmp_path):
    p = song(tmp_path / f"a.{fmt}")
    write_tag(p, ["Old One", "Old Two"])
    write_tag(p, ["A Title"], field="title")  # another field after it: order must survive
    before = read_tag(p)
    digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
    plan = TagPlan(max_genres=3, min_score=0.0)
    j = tmp_path / "j.jsonl"
    [r] = tagger.tag_files([p], clf, mode="overwrite", min_confidence=0.0, plan=plan, journal=j)
    assert r.action == "written" and len(r.new) == 3
    assert read_tag(p) == r.new and sorted(r.new) == ["chirps", "noise", "tones"]
    import mediafile

    assert mediafile.MediaFile(str(p)).genres == r.new  # beets reads the same three
    [u] = tagger.undo(j)
    assert u.action == "restored" and read_tag(p) == before == ["Old One", "Old Two"]
    assert hashlib.sha256(open(p, "rb").read()).hexdigest() == digest  # byte-identical


def test_separator_joins_into_one_value(clf, tmp_path):
    p = song(tmp_path / "a.flac")
    [r] = tagger.tag_files([p], clf, min_confidence=0.0, journal=tmp_path / "j",
                           plan=TagPlan(max_genres=2, min_score=0.0, separator=";"))
    assert len(read_tag(p)) == 1 and read_tag(p)[0].count(";") == 1


def test_keep_existing_adds_and_fill_never_touches_hand_set_genres(tmp_path, tiny_checkpoint,
                                                                 capsys):
    p = song(tmp_path / "m" / "a.flac") if (tmp_path / "m").mkdir() is None else None
    write_tag(p, ["Hand Set"])
    base = ["tag", str(tmp_path / "m"), "--model", str(tiny_checkpoint), "--min-confidence",
            "0", "--db", str(tmp_path / "db"), "--journal", str(tmp_path / "j.jsonl")]
    assert main(base) == 0 and read_tag(p) == ["Hand Set"]  # default: fill empty only
    assert main(base + ["--keep-existing"]) == 0
    got = read_tag(p)
    assert got[0] == "Hand Set" and len(got) == 2
    assert main(base + ["--keep-existing", "--force"]) == 2  # one or the other


def test_vocabulary_maps_trees_and_whitelists(tmp_path):
    (tmp_path / "map.yaml").write_text("hiphop: Hip-Hop\nrnb: null\n")
    (tmp_path / "tree.yaml").write_text(
        "- rock:\n    - hard rock\n    - metal:\n        - heavy metal\n- hip-hop\n- jazz\n")
    (tmp_path / "white.txt").write_text("# allowed\nRock\nHip-Hop\nMetal\n")
    v = Vocabulary.load(genre_map=tmp_path / "map.yaml", canonical=tmp_path / "tree.yaml",
                        whitelist=tmp_path / "white.txt")
    assert v.name("hiphop") == "Hip-Hop"  # map, then the whitelist's spelling
    assert v.name("heavymetal") == "Metal"  # as lastgenre: the nearest allowed ancestor
    assert v.name("hard rock") == "Rock"
    assert v.name("jazz") is None  # in the tree, not in the whitelist: never written
    assert v.name("rnb") is None  # mapped to null
    roots = Vocabulary.load(canonical=tmp_path / "tree.yaml")
    assert roots.name("heavy metal") == "rock"  # no whitelist: the top-level genre
    specific = Vocabulary.load(canonical=tmp_path / "tree.yaml", prefer_specific=True,
                               title_case=True)
    assert specific.name("heavy-metal") == "Heavy Metal" and specific.name("hiphop") == "Hip-Hop"
    assert v.names(["hiphop", "hip hop", "jazz", "heavy metal", "metal"]) == ["Hip-Hop", "Metal"]


def test_genres_for_takes_the_top_then_those_above_the_score():
    scores = {"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}
    assert genres_for(scores, TagPlan()) == ["a"]
    assert genres_for(scores, TagPlan(max_genres=3, min_score=0.2)) == ["a", "b"]
    assert genres_for(scores, TagPlan(max_genres=3, min_score=0.1)) == ["a", "b", "c"]


def test_album_gets_one_genre_and_a_confident_other_track_is_reported(tmp_path):
    import mutagen

    preds = {}
    for i in range(5):
        p = song(tmp_path / f"t{i}.flac", i)
        f = mutagen.File(p, easy=True)
        f["album"], f["albumartist"] = "Same Album", "Band"
        f.save()
        rock = {"rock": 0.8, "jazz": 0.2} if i < 4 else {"rock": 0.1, "jazz": 0.9}
        preds[str(p)] = {"label": max(rock, key=rock.get), "scores": rock}
    scores, groups = group_scores(preds, TagPlan(source="album"))
    assert {max(s, key=s.get) for s in scores.values()} == {"rock"}  # one genre, all tracks
    [g] = groups
    assert g["key"] == "album:Band - Same Album" and g["genre"] == "rock"
    assert [d["genre"] for d in g["disagree"]] == ["jazz"] and not g["disagree"][0]["kept"]
    scores, groups = group_scores(preds, TagPlan(source="album", per_track_exceptions=True))
    assert max(scores[str(tmp_path / "t4.flac")], key=scores[str(tmp_path / "t4.flac")].get) \
        == "jazz" and groups[0]["disagree"][0]["kept"]


def test_albums_without_tags_fall_back_to_folders(tmp_path, tiny_checkpoint, capsys):
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
        for i in range(3):
            song(tmp_path / d / f"{i}.flac", i)
    assert group_key(str(tmp_path / "one" / "0.flac"), "album").startswith("folder:")
    assert main(["tag", str(tmp_path / "one"), str(tmp_path / "two"), "--model",
                 str(tiny_checkpoint), "--min-confidence", "0", "--source", "album",
                 "--db", str(tmp_path / "db"), "--journal", str(tmp_path / "j")]) == 0
    for d in ("one", "two"):
        values = {tuple(read_tag(tmp_path / d / f"{i}.flac")) for i in range(3)}
        assert len(values) == 1 and len(next(iter(values))) == 1  # one genre per album
    assert "2 albums" in capsys.readouterr().out


@pytest.mark.parametrize("extra,message", [
    (["--genre-map", "{tmp}/bad.yaml"], "not a readable YAML"),
    (["--canonical", "{tmp}/notree.yaml"], "genre tree is a YAML list"),
    (["--genre-map", "{tmp}/missing.yaml"], "no such file"),
    (["--separator", ", "], "one printable character"),
    (["--source", "shelf"], "invalid choice"),
])
def test_bad_vocabulary_or_options_are_one_line_and_write_nothing(extra, message, tmp_path,
                                                                  tiny_checkpoint, capsys):
    (tmp_path / "m").mkdir()
    p = song(tmp_path / "m" / "a.flac")
    digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
    (tmp_path / "bad.yaml").write_text("hiphop: [unclosed\n")
    (tmp_path / "notree.yaml").write_text("rock: metal\n")
    argv = ["tag", str(tmp_path / "m"), "--model", str(tiny_checkpoint), "--min-confidence",
            "0", "--db", str(tmp_path / "db"), "--journal", str(tmp_path / "j"),
            *[a.format(tmp=tmp_path) for a in extra]]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert hashlib.sha256(open(p, "rb").read()).hexdigest() == digest
    assert not (tmp_path / "j").exists()


def test_plan_checks_its_values():
    with pytest.raises(ParameterError):
        TagPlan(max_genres=0)
    with pytest.raises(ConfigError):
        Vocabulary.load(genre_map="/nonexistent/map.yaml")


def test_tag_explain_lists_the_songs_each_one_is_most_like(tmp_path, capsys):
    """The bundled model's reasons in the tag summary (its training songs, no audio)."""
    (tmp_path / "m").mkdir()
    song(tmp_path / "m" / "a.flac")
    assert main(["tag", str(tmp_path / "m"), "--dry-run", "--explain"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "is most like" in ln)
    assert line.startswith("a.flac (") and line.count(".ogg (") == 3
