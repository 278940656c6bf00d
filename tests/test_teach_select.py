"""Which songs to label next: selection on synthetic embeddings (no audio), and
``genrekit suggest`` on a small synthetic library."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import toy_genre, write

from genrekit.errors import ParameterError
from genrekit.teach.select import kcenter, kmeans, select, standardize


def blobs(sizes=(80, 40, 20, 10, 10), D=12, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (len(sizes), D))
    Z = np.concatenate([c + rng.normal(0, spread, (n, D)) for c, n in zip(centres, sizes,
                                                                          strict=True)])
    return Z, np.repeat(np.arange(len(sizes)), sizes)


def test_kmeans_recovers_separated_clusters():
    Z, y = blobs()
    a = kmeans(Z, 5, seed=1)
    for c in range(5):  # each true cluster falls into one k-means cluster
        assert len(set(a[y == c].tolist())) == 1


def test_cold_start_picks_typical_songs_of_different_clusters():
    """Five picks from nothing: one per cluster, even the small ones (random picks from
    80/40/20/10/10 would mostly hit the big ones), and each near its cluster's centre."""
    Z, y = blobs()
    picks = select(Z, [None] * len(Z), 5, seed=0)
    assert sorted(y[picks].tolist()) == [0, 1, 2, 3, 4]
    Z = standardize(Z)  # the space selection works in
    for i in picks:  # typical: closer to its cluster's centre than most (big clusters: in
        members = Z[y == y[i]]  # 12-D, 10 points all lie at about the same distance)
        if len(members) < 20:
            continue
        d = np.linalg.norm(members - members.mean(0), axis=1)
        assert np.linalg.norm(Z[i] - members.mean(0)) <= np.quantile(d, 0.5)


def test_margin_picks_songs_between_the_labelled_genres():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, (100, 2)) + [-4, 0]
    b = rng.normal(0, 1, (100, 2)) + [4, 0]
    mid = np.c_[rng.uniform(-0.5, 0.5, 10), rng.normal(0, 1, 10)]
    Z = np.concatenate([a, b, mid])
    labels = [None] * len(Z)
    for i in list(range(0, 10)):
        labels[i] = "a"
    for i in list(range(100, 110)):
        labels[i] = "b"
    picks = select(Z, labels, 5, strategy="margin", seed=0)
    assert sum(p >= 200 for p in picks) >= 4, picks  # the songs in between


def test_discovery_finds_a_genre_no_one_labelled():
    Z, y = blobs(sizes=(60, 60, 60, 60, 8))
    labels = [None] * len(Z)
    for c in range(4):  # 4 genres well labelled, the small 5th not at all
        for i in np.flatnonzero(y == c)[:5]:
            labels[i] = int(c)
    picks = select(Z, labels, 10, seed=0)
    assert 4 in y[picks].tolist()


def test_one_song_at_a_time_as_the_teach_loop_asks():
    """n=1 after each label: every 5th pick is a discovery pick, the others uncertain."""
    Z, y = blobs()
    labels = [None] * len(Z)
    seen = []
    for step in range(25):
        (i,) = select(Z, labels, 1, seed=step)
        assert labels[i] is None
        labels[i] = int(y[i])
        seen.append(i)
    assert len(set(seen)) == 25 and len(set(y[seen].tolist())) == 5


def test_selection_contract():
    Z, _ = blobs()
    labels = [None] * len(Z)
    labels[0], labels[100] = "x", "y"
    for strategy in ("auto", "typiclust", "margin", "kcenter", "random"):
        picks = select(Z, labels, 7, strategy=strategy, seed=2)
        assert len(picks) == len(set(picks)) == 7 and 0 not in picks and 100 not in picks
        assert picks == select(Z, labels, 7, strategy=strategy, seed=2)  # deterministic
    assert len(select(Z[:5], [None] * 5, 10)) == 5  # no more than there are
    assert kcenter(Z, np.array([0]), 3)[0] != 0
    with pytest.raises(ParameterError, match="unknown strategy"):
        select(Z, [None] * len(Z), 3, strategy="smart")
    with pytest.raises(ParameterError, match="labels for"):
        select(Z, [None] * 3, 3)


@pytest.fixture()
def library(tmp_path):
    lib = tmp_path / "music"
    lib.mkdir()
    for i in range(9):
        write(lib / f"s{i}.wav", toy_genre(("tones", "noise", "chirps")[i % 3], 30 + i,
                                           seconds=2.0))
    return lib


def test_suggest_keeps_good_label_rows_and_reuses_embeddings(library, tmp_path,
                                                            tiny_checkpoint, capsys,
                                                            monkeypatch):
    from genrekit.cli import main

    labels = tmp_path / "labels.csv"
    labels.write_text(f"path,genre\n{library / 's0.wav'},tones\n{library / 's1.wav'},noise\n"
                      f"{library / 'gone.wav'},tones\n{library / 's2.wav'},\n"
                      f"{library / 's0.wav'},noise\n")
    out = tmp_path / "next.csv"
    argv = ["suggest", str(library), "--labels", str(labels), "--n", "4", "--format", "csv",
            "--out", str(out), "--model", str(tiny_checkpoint), "--cache-dir",
            str(tmp_path / "cache")]
    assert main(argv) == 1  # the bad rows are errors; the good ones count
    err = capsys.readouterr().err
    bad = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(bad) == 3 and any("gone.wav" in b for b in bad)
    assert any("empty genre" in b for b in bad) and any("conflicting" in b for b in bad)
    assert "2 labelled" in err
    rows = list(csv.DictReader(out.open()))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    picked = {r["path"] for r in rows}
    assert len(picked) == 4 and not picked & {str(library / "s0.wav"), str(library / "s1.wav")}
    # a second run reads every embedding from the cache: no prediction at all
    from genrekit.inference.classifier import GenreClassifier

    def boom(*a, **k):
        raise AssertionError("predicted again")
        yield

    monkeypatch.setattr(GenreClassifier, "predict_many", boom)
    assert main(argv) == 1
    assert [r["path"] for r in csv.DictReader(out.open())] == [r["path"] for r in rows]


def test_suggest_without_labels_file_starts_cold(library, tmp_path, tiny_checkpoint, capsys):
    from genrekit.cli import main

    assert main(["suggest", str(library), "--labels", str(tmp_path / "none.csv"), "--n", "3",
                 "--model", str(tiny_checkpoint), "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr()
    assert len(out.out.strip().splitlines()) == 3 and "0 labelled" in out.err
