"""Catalogs and output locations are checked before any work (issue 27): conflicting rows
for one file, merged duplicates, every decoding failure named before a refusal, no empty
run folder, unwritable outputs in one line."""

from __future__ import annotations

import os

import pytest
from conftest import toy_genre, write

from genrekit.cli import main
from genrekit.data.manifest import from_csv, from_folder
from genrekit.errors import ParameterError

VIRTUAL = "/proc/genrekit-no-such-dir/out"  # not creatable by anyone, root included


def songs(tmp_path, n=2):
    for i in range(n):
        write(tmp_path / f"s{i}.wav", toy_genre(("tones", "noise")[i % 2], i, seconds=2.0))


def test_conflicting_labels_name_both_rows(tmp_path):
    songs(tmp_path)
    (tmp_path / "c.csv").write_text(f"path,genre\ns0.wav,rock\ns1.wav,jazz\n"
                                    f"{tmp_path / 's0.wav'},blues\n")
    with pytest.raises(ParameterError, match=r"c.csv row 2 says label 'rock', c.csv row 4 "
                                             r"says label 'blues'"):
        from_csv(tmp_path / "c.csv")
    first = from_csv(tmp_path / "c.csv", on_conflict="first")
    assert [(t.path.name, t.label) for t in first] == [("s0.wav", "rock"), ("s1.wav", "jazz")]
    dropped = from_csv(tmp_path / "c.csv", on_conflict="drop")
    assert [t.path.name for t in dropped] == ["s1.wav"] and "left out" in dropped.notes[0][1]


def test_exact_duplicate_rows_are_merged_with_a_note(tmp_path):
    songs(tmp_path)
    (tmp_path / "d.csv").write_text("path,genre\ns0.wav,rock\ns1.wav,jazz\n./s0.wav,rock\n")
    cat = from_csv(tmp_path / "d.csv")
    assert [t.path.name for t in cat] == ["s0.wav", "s1.wav"] and not cat.missing
    assert "listed 2 times" in cat.notes[0][1] and "merged" in cat.notes[0][1]


def test_one_file_linked_into_two_genre_folders_is_a_conflict(tmp_path):
    for g in ("rock", "jazz"):
        (tmp_path / g).mkdir()
    write(tmp_path / "rock" / "a.wav", toy_genre("tones", 1, seconds=2.0))
    write(tmp_path / "jazz" / "b.wav", toy_genre("noise", 1, seconds=2.0))
    os.symlink(tmp_path / "rock" / "a.wav", tmp_path / "jazz" / "a-link.wav")
    with pytest.raises(ParameterError, match="conflicting rows"):
        from_folder(tmp_path)


def test_finetune_refuses_a_conflicting_catalog_before_any_work(tmp_path, capsys):
    songs(tmp_path)
    (tmp_path / "c.csv").write_text("path,genre\ns0.wav,rock\ns1.wav,jazz\ns0.wav,blues\n")
    out = tmp_path / "run"
    assert main(["finetune", "default", str(tmp_path / "c.csv"), "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "row 2" in err[0] and "row 4" in err[0] and "--on-conflict" in err[0]
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_unreadable_catalog_names_every_file_and_leaves_no_empty_run(tmp_path, capsys):
    rows = ["path,genre"]
    for i in range(25):
        (tmp_path / f"bad{i:02d}.wav").write_bytes(b"RIFF" + os.urandom(200))
        rows.append(f"bad{i:02d}.wav,{('rock', 'jazz')[i % 2]}")
    (tmp_path / "bad.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert main(["finetune", "default", str(tmp_path / "bad.csv"), "--out", str(out),
                 "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    failed = [ln for ln in err if ln.startswith("failed: ") and "bad" in ln]
    assert len(failed) == 20 and "... and 5 more" in err[-2], err[-3:]
    assert "too few readable songs" in err[-1] and "25 failed to decode" in err[-1]
    # the run folder holds the list of failures and nothing else
    assert sorted(p.name for p in out.iterdir()) == ["failures.csv"]
    assert len((out / "failures.csv").read_text().strip().splitlines()) == 26


def test_calibrate_names_unreadable_songs(tmp_path, tiny_checkpoint, capsys):
    (tmp_path / "x.wav").write_bytes(b"RIFF" + os.urandom(100))
    (tmp_path / "c.csv").write_text("path,genre\nx.wav,tones\n")
    assert main(["calibrate", str(tiny_checkpoint), str(tmp_path / "c.csv"), "--out",
                 str(tmp_path / "cal.pt"), "--cache-dir", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("failed: ") and "x.wav" in err[0] and "could be read" in err[-1]


@pytest.mark.parametrize("argv", [
    ["finetune", "default", "{cat}", "--out", VIRTUAL],
    ["finetune", "default", "{cat}", "--out", "{tmp}/ok", "--cache-dir", VIRTUAL],
    ["train", "{cat}", "--out", VIRTUAL],
    ["preprocess", "{cat}", "--cache-dir", VIRTUAL],
    ["predict", "{cat}", "--out", VIRTUAL + "/p.csv"],
    ["evaluate", "{ckpt}", "{cat}", "--out", VIRTUAL],
    ["export", "{ckpt}", "--out", VIRTUAL + "/m.onnx"],
    ["tag", "{tmp}", "--journal", VIRTUAL + "/j.jsonl"],
    ["demo", "--out", VIRTUAL],
    ["predict", "{cat}", "--out", "{tmp}/s0.wav/p.csv"],  # a file in the way
])
def test_unwritable_outputs_are_one_line_before_any_work(argv, tmp_path, tiny_checkpoint,
                                                          capsys):
    songs(tmp_path)
    (tmp_path / "c.csv").write_text("path,genre\ns0.wav,tones\ns1.wav,noise\n")
    argv = [a.format(cat=tmp_path / "c.csv", tmp=tmp_path, ckpt=tiny_checkpoint) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("/proc" in err[0] or "not a folder" in err[0]), err
    assert not (tmp_path / "ok").exists() and not (tmp_path / "cache").exists()


def test_preprocess_on_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    """failures.csv cannot be written (ENOSPC): one line naming it, exit 1, no traceback;
    the failures still reach the terminal."""
    import errno

    from genrekit import fileio

    songs(tmp_path)
    (tmp_path / "bad.wav").write_bytes(b"RIFF" + os.urandom(64))
    real = fileio.atomic_write

    def full(path, *a, **k):
        if str(path).endswith("failures.csv"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, *a, **k)

    monkeypatch.setattr(fileio, "atomic_write", full)
    assert main(["preprocess", str(tmp_path), "--cache-dir", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("failures.csv: cannot write the failures list (no space left "
                            "on device)")
    assert any(ln.startswith("failed: ") and "bad.wav" in ln for ln in err)
    assert not any("Traceback" in ln for ln in err)
