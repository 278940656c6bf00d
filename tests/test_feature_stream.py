"""Long files block by block: features frame by frame (``features.stream``), grid slices as
they complete (``data.slices.SliceGrid``), the decode read ahead in a thread
(``engine.prefetch``), and the bundled model's prediction of a long file the same as of its
whole features."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import write

from genrekit import audio_stream
from genrekit.data.slices import SliceGrid, grid_slices
from genrekit.engine.prefetch import read_ahead
from genrekit.features import compute_features
from genrekit.features.spec import FeatureSpec
from genrekit.features.stream import FrameStream, streamable

SPEC = FeatureSpec(names=("mel_logc",), sr=16000, n_fft=512, hop_length=256, n_mels=96)


def signal(n, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    return (0.3 * np.sin(2 * np.pi * 330 * t * (1 + 0.1 * np.sin(t)))
            + 0.05 * rng.standard_normal(n)).astype(np.float32)


def chunked(y, sizes):
    i, k = 0, 0
    while i < len(y):
        yield y[i:i + sizes[k % len(sizes)]]
        i += sizes[k % len(sizes)]
        k += 1


@pytest.mark.numeric
@pytest.mark.parametrize("backend", ["numpy", "fast"])
@pytest.mark.parametrize("n", [100, 600, 256 * 17 + 3, 16000 * 7 + 129, 16000 * 31])
@pytest.mark.parametrize("block", [188, 1880, 4096])
def test_frame_blocks_are_the_whole_songs_frames(backend, n, block):
    """Bit for bit with the fast backend (numba loops: the same sums in the same order
    whatever the block). The numpy backend's mel projection is a BLAS matrix product, whose
    kernel (chosen per CPU, and per matrix shape) may sum a frame's bins in another order
    for a block than for the whole song: there, within a few float32 ulps."""
    y = signal(n)

    def compute(seg):
        return compute_features(seg, 16000, SPEC, backend=backend)

    want = compute(y)
    for sizes in ([4000], [16000 * 10], [1, 777, 10000, 3]):
        got = np.concatenate(list(FrameStream(SPEC, block, compute).run(chunked(y, sizes))),
                             -1)
        if backend == "fast":
            np.testing.assert_array_equal(got, want)
        else:
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=4 * np.finfo(np.float32).eps,
                                       atol=1e-6)


def test_only_frame_local_features_stream():
    assert streamable(SPEC)
    assert not streamable(FeatureSpec(names=("mel", "hpss")))
    assert not streamable(FeatureSpec(names=("mel_logc",), sr=16000, center=False))


@pytest.mark.parametrize("T", [1, 50, 188, 189, 376, 1000, 1881])
@pytest.mark.parametrize("hop", [188, 94, 61])
def test_slice_grid_gives_grid_slices_of_the_whole(T, hop):
    X = np.random.default_rng(T).standard_normal((1, 4, T)).astype(np.float32)
    want, starts = grid_slices(X, 188, hop)
    for size in (1, 7, 188, 500):
        grid = SliceGrid(188, hop)
        got = []
        for i in range(0, T, size):
            got += grid.push(X[..., i:i + size])
        got += grid.finish()
        assert [s for s, _ in got] == starts
        np.testing.assert_array_equal(np.stack([S for _, S in got]), want)
        assert grid.frames.shape[-1] <= 188 + max(size, hop)  # never the whole song


def test_read_ahead_keeps_order_and_raises_where_the_source_failed():
    def items():
        yield from range(5)
        raise ValueError("damaged")

    got = []
    with pytest.raises(ValueError, match="damaged"):
        for x in read_ahead(items()):
            got.append(x)
    assert got == list(range(5))


def test_read_ahead_closed_early_stops_and_closes_its_source():
    closed = threading.Event()

    def items():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    it = read_ahead(items(), depth=2)
    assert next(it) == 0
    it.close()
    assert closed.wait(5)
    assert not any(t.name == "genrekit-read-ahead" for t in threading.enumerate())


# --- the bundled model on long files ------------------------------------------------------
@pytest.fixture
def long_after_3s(monkeypatch):
    monkeypatch.setattr(audio_stream, "STREAM_ABOVE", 3.0)
    monkeypatch.setattr(audio_stream, "BLOCK_SECONDS", 1.0)


@pytest.fixture(scope="module")
def clf():
    from genrekit.inference.classifier import GenreClassifier

    return GenreClassifier.from_pretrained(set_level=0.9)


def music(seconds, sr=44100, seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.15 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * r * t))
            for f, r in ((110, 2.0), (220, 0.5), (660, 4.0)))
    y = y + 0.02 * rng.standard_normal(len(t))
    return np.stack([y, np.roll(y, 100)], 1).astype(np.float32)


def is_long(path):
    from genrekit.audio import open_checked

    return not isinstance(open_checked(path, 16000), np.ndarray)


@pytest.mark.parametrize("fmt,seconds", [("flac", 20.0), ("m4a", 14.5), ("wav", 3.5)])
def test_a_long_file_block_by_block_is_its_whole_features_prediction(
        clf, long_after_3s, fmt, seconds, tmp_path):
    from genrekit.audio import load_checked

    p = write(tmp_path / f"song.{fmt}", music(seconds), sr=44100)
    assert is_long(p)  # it takes the long-file path
    streamed = clf.predict(p)
    whole = clf.predict_features([(p, clf.features_from_audio(load_checked(p, 16000)))])[0]
    assert streamed.label == whole.label and streamed.duration == whole.duration
    assert streamed.scores == whole.scores  # the same slices in the same batches: exact
    assert streamed.timeline == whole.timeline
    assert streamed.novelty == whole.novelty
    assert streamed.prediction_set == whole.prediction_set
    np.testing.assert_array_equal(clf.features(p), clf.features_from_audio(
        load_checked(p, 16000)))  # features of a file: block by block, the same


def test_short_files_keep_the_whole_file_path(tmp_path):
    p = write(tmp_path / "clip.flac", music(5.0), sr=44100)
    assert not is_long(p)  # 5 s is not long (STREAM_ABOVE)


def test_predict_many_mixes_long_short_and_bad_files_in_input_order(clf, long_after_3s,
                                                                    tmp_path):
    files = [write(tmp_path / "a.flac", music(2.5), sr=44100),
             write(tmp_path / "b.flac", music(9.0), sr=44100),
             str(tmp_path / "missing.mp3"),
             write(tmp_path / "c.wav", music(2.0, seed=3), sr=44100),
             write(tmp_path / "d.wav", np.zeros((44100 * 6, 2), np.float32), sr=44100)]
    out = list(clf.predict_many(files, songs_per_batch=2))
    assert [p for p, _, _ in out] == files
    assert [err is None for _, _, err in out] == [True, True, False, True, False]
    assert "silent" in out[4][2] and "not found" in out[2][2]
    for path, pred, _ in out[:2]:
        assert pred.scores == clf.predict(path).scores


def test_a_truncated_mp3_gives_the_slices_before_the_cut(clf, long_after_3s, tmp_path):
    p = write(tmp_path / "cut.mp3", music(12.0), sr=44100)
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) * 2 // 3 + 77])  # ends inside a frame
    pred = clf.predict(p)
    assert 6.0 < pred.duration < 9.5
    assert pred.timeline[-1].end <= pred.duration + 1e-6


def test_no_cap_reads_the_whole_long_file(long_after_3s, tmp_path):
    from genrekit.inference.classifier import GenreClassifier

    p = write(tmp_path / "long.flac", music(16.0), sr=44100)
    capped = GenreClassifier.from_pretrained(max_duration=9.0).predict(p)
    whole = GenreClassifier.from_pretrained(max_duration=None).predict(p)
    assert capped.duration == pytest.approx(9.0, abs=0.02)
    assert whole.duration == pytest.approx(16.0, abs=0.02)
    assert whole.timeline[-1].end == pytest.approx(16.0, abs=0.02)


def test_cli_max_duration_zero_gives_the_whole_long_file(long_after_3s, tmp_path, capsys):
    import json

    from genrekit.cli import main

    p = write(tmp_path / "mix.flac", music(16.0), sr=44100)
    assert main(["predict", p, "--max-duration", "0", "--format", "json", "--timeline"]) == 0
    pred = json.loads(capsys.readouterr().out)["predictions"][0]
    assert pred["duration"] == pytest.approx(16.0, abs=0.02)
    assert pred["timeline"][-1]["end"] == pytest.approx(16.0, abs=0.02)
    assert main(["predict", p, "--max-duration", "6", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["duration"] == \
        pytest.approx(6.0, abs=0.02)


def test_a_model_error_midway_stops_the_decode_thread(clf, long_after_3s, monkeypatch,
                                                      tmp_path):
    from genrekit.inference import long_files

    p = write(tmp_path / "long.flac", music(30.0), sr=44100)
    calls = []

    def failing(*a, **k):
        calls.append(1)
        raise RuntimeError("model failed")

    monkeypatch.setattr("genrekit.inference.apply.slice_batch_outputs", failing)
    with pytest.raises(RuntimeError, match="model failed"):
        long_files.predict_file(clf, p)
    assert calls and not any(t.name == "genrekit-read-ahead" for t in threading.enumerate())
    out = list(clf.predict_many([p]))  # predict_many: one line for the file
    assert out[0][1] is None and "model failed" in out[0][2]


def test_timeline_runs_merge_consecutive_slices_of_one_label():
    from genrekit.inference.prediction import Segment, timeline_runs

    seg = [Segment(0.0, 3.0, "rock", {"rock": 0.9, "pop": 0.1}),
           Segment(3.0, 6.0, "rock", {"rock": 0.7, "pop": 0.3}),
           Segment(6.0, 9.0, "pop", {"rock": 0.4, "pop": 0.6}),
           Segment(9.0, 10.5, "rock", {"rock": 0.8, "pop": 0.2})]
    runs = timeline_runs(seg)
    assert [(a, b, lbl, n) for a, b, lbl, _, n in runs] == [
        (0.0, 6.0, "rock", 2), (6.0, 9.0, "pop", 1), (9.0, 10.5, "rock", 1)]
    assert runs[0][3] == pytest.approx(0.8)
    assert timeline_runs([]) == []
