import pytest
from conftest import tone, write

from genrekit.data import load_catalog, split_catalog
from genrekit.data.manifest import Catalog, Track, from_csv, scan_audio
from genrekit.errors import ParameterError


def make_folder(root, counts):
    for label, n in counts.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            write(root / label / f"{label}.{i:05d}.wav", tone(200 + 50 * i, 0.2))
    return root


def test_folder_per_genre(tmp_path):
    make_folder(tmp_path, {"rock": 2, "jazz": 3})
    (tmp_path / "rock" / "notes.txt").write_text("x")
    cat = load_catalog(tmp_path)
    assert len(cat) == 5 and cat.classes == ["jazz", "rock"]
    assert cat.counts() == {"jazz": 3, "rock": 2}
    assert all(t.split is None for t in cat)


def test_folder_with_split_lists(tmp_path):
    make_folder(tmp_path, {"rock": 2, "jazz": 2})
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "train.txt").write_text("rock/rock.00000.wav\njazz/jazz.00000.wav\n")
    (tmp_path / "splits" / "valid.txt").write_text("# comment\nrock/rock.00001.wav\nnope/x.wav\n")
    cat = load_catalog(tmp_path)
    assert [t.split for t in cat] == ["train", None, "train", "valid"]
    assert cat.missing == [("nope/x.wav", "listed in valid.txt but not in the catalog")]
    assert len(cat.subset("train")) == 2


def test_zalo_csv_with_separate_audio_folder_and_missing_files(tmp_path):
    audio = tmp_path / "train"
    audio.mkdir()
    write(audio / "1001.mp3", tone(300, 0.3))
    write(audio / "1002.wav", tone(300, 0.3))
    (tmp_path / "train.csv").write_text("Id,Genre\n1001.mp3,3\n1002,7\n1003.mp3,1\n")
    cat = from_csv(tmp_path / "train.csv", audio_dir=audio)
    assert [(t.path.name, t.label) for t in cat] == [("1001.mp3", "3"), ("1002.wav", "7")]
    assert cat.missing == [("1003.mp3", f"file not found under {audio}")]


def test_csv_named_columns_and_errors(tmp_path):
    write(tmp_path / "a.wav", tone(300, 0.2))
    (tmp_path / "c.csv").write_text("f,lab,who\na.wav,rock,x\n")
    cat = from_csv(tmp_path / "c.csv", path_col="f", label_col="lab", group_col="who")
    assert cat.tracks[0].label == "rock" and cat.tracks[0].group == "x"
    with pytest.raises(ParameterError, match="no path column found"):
        from_csv(tmp_path / "c.csv")
    with pytest.raises(ParameterError, match="no label column 'genre'"):
        from_csv(tmp_path / "c.csv", path_col="f", label_col="genre")
    with pytest.raises(ParameterError, match="CSV not found"):
        from_csv(tmp_path / "none.csv")
    with pytest.raises(ParameterError, match="no such file or folder"):
        load_catalog(tmp_path / "nothing")


def test_scan_audio_reports_missing(tmp_path):
    write(tmp_path / "a.wav", tone(300, 0.2))
    cat = scan_audio([tmp_path, tmp_path / "gone.mp3"])
    assert len(cat) == 1 and cat.missing == [(str(tmp_path / "gone.mp3"), "not found")]


def test_split_per_group_stratified_deterministic():
    tracks = []
    for label in ("a", "b"):
        for artist in range(10):
            for song in range(3):
                tracks.append(Track(f"/x/{label}{artist}_{song}.wav", label, f"{label}{artist}"))
    cat = Catalog(tracks)
    s1, s2 = split_catalog(cat, valid_fraction=0.2, seed=0), split_catalog(cat, seed=0)
    assert [t.split for t in s1] == [t.split for t in s2]
    for g in {t.group for t in s1}:  # an artist never spans splits
        assert len({t.split for t in s1 if t.group == g}) == 1
    for label in ("a", "b"):  # stratified: 2 of 10 artists per label
        assert len({t.group for t in s1 if t.label == label and t.split == "valid"}) == 2
    s3 = split_catalog(cat, seed=1)
    assert [t.split for t in s3] != [t.split for t in s1]
    with pytest.raises(ParameterError, match="valid_fraction"):
        split_catalog(cat, valid_fraction=1.5)
