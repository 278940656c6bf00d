"""The label audit and near duplicates: on synthetic embeddings (pure) and through
``genrekit audit`` on a small synthetic catalog."""

from __future__ import annotations

import csv

import numpy as np
from conftest import toy_genre, write

from genrekit.teach.audit import label_issues, near_duplicates


def test_flipped_labels_rank_first():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 16))
    y = np.repeat(np.arange(4), 30)
    Z = centres[y] + rng.normal(0, 1, (120, 16))
    noisy = y.copy()
    flipped = [3, 40, 77, 100]
    for i in flipped:
        noisy[i] = (y[i] + 1) % 4
    issues = label_issues(Z, noisy, groups=np.arange(120) // 3)  # artists of 3 songs
    top = [r["index"] for r in issues[:8]]
    assert set(flipped) <= set(top)
    for r in issues[:4]:
        assert r["suggested"] == str(y[r["index"]]) and r["margin"] < 0


def test_near_duplicates_find_the_copy_not_the_neighbours():
    rng = np.random.default_rng(1)
    Z = rng.normal(0, 1, (50, 32))
    Z = np.vstack([Z, Z[7] + rng.normal(0, 0.02, 32)])  # a re-encoded copy of song 7
    assert [(i, j) for i, j, _ in near_duplicates(Z)] == [(7, 50)]


def test_cli_audit_reports_the_copy_and_the_wrong_label(tmp_path, capsys):
    """Through the bundled model (its embeddings, never its genres)."""
    from genrekit.cli import main

    rows = ["path,genre"]
    for i in range(18):
        g = ("tones", "noise", "chirps")[i % 3]
        write(tmp_path / f"s{i:02d}.wav", toy_genre(g, 60 + i, seconds=4.0))
        rows.append(f"s{i:02d}.wav,{'chirps' if i == 4 else g}")  # s04 is noise, labelled chirps
    y = toy_genre("tones", 60, seconds=4.0)
    write(tmp_path / "s00-copy.mp3", y)  # s00 re-encoded
    rows.append("s00-copy.mp3,tones")
    (tmp_path / "cat.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "audit.csv"
    assert main(["audit", str(tmp_path / "cat.csv"),
                 "--format", "csv", "--out", str(out), "--cache-dir", str(tmp_path / "c")]) == 0
    got = list(csv.DictReader(out.open()))
    dups = [r for r in got if r["kind"] == "duplicate"]
    assert any({r["path"].rsplit("/", 1)[1], r["duplicate_of"].rsplit("/", 1)[1]} ==
               {"s00.wav", "s00-copy.mp3"} for r in dups), dups
    labels = [r for r in got if r["kind"] == "label"]
    assert len(labels) == 19
    first = [r["path"].rsplit("/", 1)[1] for r in labels[:3]]
    assert "s04.wav" in first and labels[0]["given"] != labels[0]["suggested"]
