"""Hostile user files (issue 32): one CSV reader (encoding, field size, repeated rows) and
one YAML reader (alias bombs, cycles, depth) for everything a user hands genrekit; labels
rewrites that keep what they did not change; tables that a name cannot forge."""

from __future__ import annotations

import csv
import time
import tracemalloc

import pytest
from conftest import toy_genre, write

from genrekit.cli import main
from genrekit.data.manifest import from_csv
from genrekit.errors import ConfigError, ParameterError
from genrekit.library.vocabulary import Vocabulary
from genrekit.userfiles import load_yaml, read_csv

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi",
                                                                 strict=True))


# --- CSV ----------------------------------------------------------------------------------

def test_excel_cp1252_catalog_is_read_with_a_note(tmp_path):
    write(tmp_path / "café.wav", toy_genre("tones", 1, seconds=1.0))
    (tmp_path / "cat.csv").write_bytes("path,genre\ncafé.wav,Música\n".encode("cp1252"))
    cat = from_csv(tmp_path / "cat.csv")
    assert [(t.path.name, t.label) for t in cat] == [("café.wav", "Música")]
    assert any("cp1252" in n for _, n in cat.notes)
    (tmp_path / "bom.csv").write_bytes("\ufeffpath,genre\ncafé.wav,rock\n".encode("utf-8"))
    assert [t.label for t in from_csv(tmp_path / "bom.csv")] == ["rock"]


def test_neither_utf8_nor_cp1252_is_one_error_naming_the_line(tmp_path):
    (tmp_path / "cat.csv").write_bytes(b"path,genre\na.wav,rock\nb.wav,\x81\xe9\n")
    with pytest.raises(ParameterError, match=r"cat.csv: line 3: neither UTF-8 nor cp1252"):
        read_csv(tmp_path / "cat.csv")


def test_a_huge_field_is_one_error_naming_the_line(tmp_path):
    (tmp_path / "cat.csv").write_text("path,genre\na.wav,rock\n\"" + "x" * 200_000 + "\",j\n")
    with pytest.raises(ParameterError, match=r"cat.csv: line 3: a field over 131,072"):
        read_csv(tmp_path / "cat.csv")


def test_repeated_rows_cost_one_row_of_memory(tmp_path):
    p = tmp_path / "labels.csv"
    row = f"{tmp_path / 'a.wav'},rock\n"
    with open(p, "w") as f:
        f.write("path,genre\n")
        for _ in range(200):
            f.write(row * 1000)  # 200,000 identical rows, 7 MB
    tracemalloc.start()
    table = read_csv(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(table.rows) == 1 and table.rows[0].count == 200_000 and table.rows[0].line == 2
    assert peak < 2_000_000, peak  # the rows are not all held: a list of them is ~60 MB


def test_suggest_audit_and_teach_read_a_cp1252_labels_file(tmp_path, tiny_checkpoint, capsys):
    from genrekit.commands.teach import build_session
    from genrekit.teach.labels import LabelBook

    lib = tmp_path / "lib"
    lib.mkdir()
    for i, g in enumerate(("tones", "noise", "chirps", "tones", "noise", "chirps")):
        write(lib / f"é{i}.wav", toy_genre(g, 10 + i, seconds=2.0))
    labels = tmp_path / "labels.csv"
    labels.write_bytes(b"path,genre\n" + "".join(
        f"{lib / f'é{i}.wav'},{g}\n" for i, g in enumerate(("tones", "noise", "chirps", "tones"))
    ).encode("cp1252"))
    common = ["--model", str(tiny_checkpoint), "--cache-dir", str(tmp_path / "c")]
    assert main(["suggest", str(lib), "--labels", str(labels), "--n", "2", *common]) == 0
    err = capsys.readouterr().err
    assert "4 labelled" in err and "cp1252" in err and "Traceback" not in err
    assert main(["audit", str(labels), "--format", "csv", "--out", str(tmp_path / "a.csv"),
                 *common]) == 0
    assert "Traceback" not in capsys.readouterr().err

    class Args:
        library, model, precision, jobs = [str(lib)], str(tiny_checkpoint), "float", 1
        cache_dir = str(tmp_path / "c")

    Args.labels = str(labels)
    session, _, _ = build_session(Args)
    assert session.state()["labelled"] == 4
    assert isinstance(session.book, LabelBook)


# --- labels: a rewrite keeps what it did not change --------------------------------------

def test_a_label_keeps_every_other_row_and_column(tmp_path):
    from genrekit.teach.labels import LabelBook, read_labels

    write(tmp_path / "a.wav", toy_genre("tones", 1, seconds=1.0))
    write(tmp_path / "b.wav", toy_genre("noise", 2, seconds=1.0))
    p = tmp_path / "labels.csv"
    original = ("path;genre;artist;comment\n"
                "a.wav;rock;Band A;first\n"
                "/media/usb/unmounted.flac;jazz;Trio;drive not here today\n"
                "../elsewhere/outside.mp3;folk;Singer;\n")
    p.write_text(original)
    book = LabelBook(p, read_labels(p)[0])
    before = book.set(str(tmp_path / "a.wav"), "punk")  # a relabel: the cell, nothing else
    assert before == "rock"
    book.set(str(tmp_path / "b.wav"), "ambient")  # a new song: a new row at the end
    got = list(csv.reader(p.open(), delimiter=";"))
    assert got[0] == ["path", "genre", "artist", "comment"]
    assert got[1] == ["a.wav", "punk", "Band A", "first"]
    assert got[2] == ["/media/usb/unmounted.flac", "jazz", "Trio", "drive not here today"]
    assert got[3] == ["../elsewhere/outside.mp3", "folk", "Singer", ""]
    assert got[4][:2] == [str(tmp_path / "b.wav"), "ambient"] and len(got) == 5
    book.restore(str(tmp_path / "b.wav"), None)
    book.restore(str(tmp_path / "a.wav"), before)
    assert p.read_text() == original  # undo gives the file back as it was


# --- YAML ---------------------------------------------------------------------------------

def test_an_alias_bomb_is_refused_in_milliseconds(tmp_path):
    (tmp_path / "map.yaml").write_text(BOMB)
    assert len(BOMB) < 1500
    t = time.perf_counter()
    with pytest.raises(ConfigError, match=r"map.yaml: expands to more than 100,000 nodes"):
        Vocabulary.load(genre_map=tmp_path / "map.yaml")
    assert time.perf_counter() - t < 2.0


@pytest.mark.parametrize("text,message", [
    ("- &r {rock: [hard rock, *r]}\n", "a cycle"),
    ("- rock:\n  - pop:\n    - rock\n", "its own ancestor"),
    ("".join("  " * i + f"- g{i}:\n" for i in range(200)) + "  " * 200 + "- leaf\n",
     "nested more than 64 levels"),
    ("[" * 10_000 + "]" * 10_000, "nest"),
])
def test_a_cyclic_or_deep_tree_is_one_line(tmp_path, text, message):
    (tmp_path / "tree.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        Vocabulary.load(canonical=tmp_path / "tree.yaml")


def test_aliases_that_stay_small_are_fine(tmp_path):
    (tmp_path / "c.yaml").write_text("base: &b {lr: 0.1}\ntrain: *b\n")
    assert load_yaml(tmp_path / "c.yaml") == {"base": {"lr": 0.1}, "train": {"lr": 0.1}}


@pytest.mark.parametrize("option", ["--genre-map", "--canonical"])
def test_tag_refuses_hostile_yaml_in_one_line_and_writes_nothing(option, tmp_path,
                                                                 tiny_checkpoint, capsys):
    (tmp_path / "m").mkdir()
    write(tmp_path / "m" / "a.flac", toy_genre("tones", 3, seconds=2.0))
    before = (tmp_path / "m" / "a.flac").read_bytes()
    (tmp_path / "bad.yaml").write_text(BOMB if option == "--genre-map" else
                                       "- &r {rock: [*r]}\n")
    argv = ["tag", str(tmp_path / "m"), "--model", str(tiny_checkpoint), "--min-confidence",
            "0", "--db", str(tmp_path / "db"), "--journal", str(tmp_path / "j"), option,
            str(tmp_path / "bad.yaml")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0], err
    assert (tmp_path / "m" / "a.flac").read_bytes() == before
    assert not (tmp_path / "j").exists() and not (tmp_path / "db").exists()


def test_config_files_and_overrides_go_through_the_same_reader(tmp_path):
    from genrekit.config import load_config

    (tmp_path / "c.yaml").write_text(BOMB)
    with pytest.raises(ConfigError, match="expands to more than"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="expands to more than"):
        load_config(None, ["train.lr=" + BOMB.replace("\n", " ").split(": ", 1)[1][:0] +
                           "{" + ", ".join(f"k{i}: [{','.join(['1'] * 400)}]"
                                           for i in range(300)) + "}"])


# --- tables -------------------------------------------------------------------------------

def test_audit_table_escapes_newlines_in_names(tmp_path, capsys):
    rows = ["path,genre"]
    for i in range(8):
        g = ("tones", "noise")[i % 2]
        write(tmp_path / f"s{i}.wav", toy_genre(g, 40 + i, seconds=3.0))
        rows.append(f's{i}.wav,"{g}\nforged row  0.999  fake.wav: given x"')
    (tmp_path / "cat.csv").write_text("\n".join(rows) + "\n")
    assert main(["audit", str(tmp_path / "cat.csv"), "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert not any(ln.startswith("forged row") for ln in out.splitlines())
    assert "\\nforged row" in out
