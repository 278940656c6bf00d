"""Filling the cache with the torch backend on a device (here the CPU stands in for a GPU:
the same code path, with decoding in workers and features batched in this process)."""

import os
import pickle
import time

import numpy as np
import pytest
import torch
from conftest import noise, tone, write
from test_preprocess import bad_catalog

from genrekit.audio import load_audio
from genrekit.cli import main
from genrekit.engine.device import _Batches
from genrekit.engine.local import preprocess
from genrekit.engine.pool import bounded_map
from genrekit.errors import AudioLoadError, CheckpointError, ParameterError, UnknownModelError
from genrekit.features import FeatureSpec, compute_features
from genrekit.features.cache import FeatureCache
from genrekit.features.torch_backend import DeviceFeatures
from genrekit.training.songs import choose_backend

SPEC = FeatureSpec(names=("mel", "hpss"), n_mels=32)


@pytest.mark.parametrize("jobs", [1, 2])
def test_device_fill_matches_the_backend_and_reports_bad_files(tmp_path, jobs):
    src = bad_catalog(tmp_path / "in", n_good=3)
    write(src / "longer.wav", tone(330, 2.5) + noise(2.5, amp=0.01))
    paths = sorted(src.iterdir())
    res = preprocess(paths, SPEC, tmp_path / "c", jobs=jobs, backend="torch", device="cpu")
    failed = {os.path.basename(p) for p, _ in res.failures}
    assert failed == {"empty.wav", "text.wav", "tiny.wav"} and res.computed == 5
    cache = FeatureCache.open(tmp_path / "c", SPEC, backend="torch")
    for p, key in res.keys.items():
        want = compute_features(load_audio(p, sr=SPEC.sr)[0], SPEC.sr, SPEC, backend="torch")
        got = cache.get(key).astype(np.float32)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=0.05)  # float16 storage
    again = preprocess(paths, SPEC, tmp_path / "c", jobs=jobs, backend="torch", device="cpu")
    assert again.computed == 0 and again.cached == 5 and len(again.failures) == 3
    assert FeatureCache.open(tmp_path / "c", SPEC).entries() == []  # nothing in the fast namespace


class Recorder:
    """A stand-in for DeviceFeatures that records the batches it is given."""

    def __init__(self):
        self.batches = []

    def __call__(self, ys):
        assert len({len(y) for y in ys}) == 1  # only equal lengths share a batch
        self.batches.append(len(ys))
        return [y[None, None, :4] for y in ys]


def test_batches_group_equal_lengths_within_the_budget(tmp_path):
    rec, done = Recorder(), []
    cache = FeatureCache.open(tmp_path / "c", SPEC, backend="torch")
    b = _Batches(rec, cache, lambda p, s, k, r: done.append((p, s)), budget=1000)
    for i in range(5):
        b.add(f"a{i}", f"{i:032x}", np.zeros(300, np.float32))  # 3 fit the budget
    b.add("odd", "f" * 32, np.zeros(200, np.float32))
    b.flush()
    assert sorted(rec.batches) == [1, 1, 1, 3]  # budget reached at 4 x 300: one flush
    assert len(done) == 6 and all(s == "computed" for _, s in done)
    assert len(cache.entries()) == 6


def test_out_of_memory_retries_clip_by_clip(monkeypatch):
    feats = DeviceFeatures(SPEC, "cpu")
    forward = feats.module.forward

    def small_memory(x):
        if x.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return forward(x)

    monkeypatch.setattr(feats.module, "forward", small_memory)
    ys = [(tone(220 * (i + 1), 1.0)).astype(np.float32) for i in range(3)]
    out = feats(ys)
    for y, X in zip(ys, out, strict=True):
        np.testing.assert_allclose(X, compute_features(y, SPEC.sr, SPEC, backend="torch"),
                                   atol=1e-4)


def test_bounded_map_keeps_order_and_a_window_in_flight():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    lock, running, most = threading.Lock(), [0], [0]

    def job(a, b):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01 * (a % 3))  # finish out of order
        with lock:
            running[0] -= 1
        return a * b

    with ThreadPoolExecutor(8) as pool:
        out = list(bounded_map(pool, job, ((i, 2) for i in range(20)), window=3))
    assert out == [2 * i for i in range(20)] and most[0] <= 3


def test_device_needs_the_torch_backend(tmp_path):
    with pytest.raises(ParameterError, match="needs backend='torch'"):
        preprocess([], SPEC, tmp_path / "c", device="cuda")
    src = bad_catalog(tmp_path / "in", n_good=1)
    assert main(["preprocess", str(src), "--cache-dir", str(tmp_path / "c"), "--device", "cpu"]) \
        == 2


def test_cli_preprocess_on_a_device(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        write(src / f"s{i}.wav", tone(300 + 100 * i, 1.5))
    rc = main(["preprocess", str(src), "--cache-dir", str(tmp_path / "c"), "--backend", "torch",
               "--device", "cpu", "--features", "mel", "--n-mels", "32"])
    assert rc == 0 and "2 computed" in capsys.readouterr().out
    assert len(FeatureCache.open(tmp_path / "c", FeatureSpec(names=("mel",), n_mels=32),
                          backend="torch").entries()) == 2


def test_training_backend_choice(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    paths = [write(src / f"s{i}.wav", tone(300 + 100 * i, 1.5)) for i in range(2)]
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert choose_backend("auto", cpu, SPEC, tmp_path / "c", paths) == ("fast", None)
    assert choose_backend("torch", cpu, SPEC, tmp_path / "c", paths) == ("torch", None)
    assert choose_backend("fast", cuda, SPEC, tmp_path / "c", paths) == ("fast", None)
    assert choose_backend("auto", cuda, SPEC, tmp_path / "c", paths) == ("torch", "cuda")
    cqt = FeatureSpec(names=("cqt",))  # not a torch-backend feature
    assert choose_backend("auto", cuda, cqt, tmp_path / "c", paths) == ("fast", None)
    preprocess(paths, SPEC, tmp_path / "c")  # a catalog preprocessed earlier (fast) is read
    assert choose_backend("auto", cuda, SPEC, tmp_path / "c", paths) == ("fast", None)


def test_worker_failures_reach_the_parent_as_text(monkeypatch):
    from genrekit.engine import jobs

    class Odd(Exception):  # a library exception that does not pickle
        def __init__(self, code, detail):
            super().__init__(f"{code}: {detail}")

    def boom(*a, **k):
        raise Odd(3, "decoder state")

    monkeypatch.setattr(jobs, "load_checked", boom)
    job = jobs.FileJob.of(SPEC, min_duration=1.0, max_duration=None)
    out = pickle.loads(pickle.dumps(jobs.run_file("x.wav", job, False)))
    assert out[1] is None and str(out[2]) == "unexpected Odd: 3: decoder state"


@pytest.mark.parametrize("exc", [AudioLoadError("a.wav", "silent"),
                                 CheckpointError("m.pt", "corrupt"),
                                 UnknownModelError("resnt", ["resnet18"])])
def test_errors_survive_pickling(exc):
    """Workers send exceptions back to the parent process."""
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and str(back) == str(exc)


def test_training_fills_its_cache_on_the_feature_device(toy_catalog, tmp_path, monkeypatch):
    """What a GPU run does (the CPU standing in): the torch backend fills the cache in
    batches and the run trains from those entries only."""
    from test_training import TOY

    from genrekit.config import load_config
    from genrekit.data import load_catalog
    from genrekit.training import songs
    from genrekit.training.trainer import train

    chosen = []

    def on_device(*args):
        chosen.append(args[0])
        return "torch", "cpu"

    monkeypatch.setattr(songs, "choose_backend", on_device)
    cache = tmp_path / "c"
    cfg = load_config(None, TOY + ["train.epochs=1", f"train.cache_dir={cache}"])
    cat = load_catalog(toy_catalog)
    res = train(cfg, cat, tmp_path / "run")
    assert chosen == ["auto"] and res.best_path.exists() and not res.failures
    spec = cfg.features
    assert len(FeatureCache.open(cache, spec, backend="torch").entries()) == len(list(cat))
    assert FeatureCache.open(cache, spec).entries() == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_fill_matches_cpu_fill(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    paths = [write(src / f"s{i}.wav", tone(200 + 150 * i, 2.0) + noise(2.0, amp=0.02, seed=i))
             for i in range(3)]
    gpu = preprocess(paths, SPEC, tmp_path / "g", jobs=2, backend="torch", device="cuda")
    cpu = preprocess(paths, SPEC, tmp_path / "c", jobs=2, backend="torch", device="cpu")
    assert gpu.computed == cpu.computed == 3 and gpu.keys == cpu.keys
    g = FeatureCache.open(tmp_path / "g", SPEC, backend="torch")
    c = FeatureCache.open(tmp_path / "c", SPEC, backend="torch")
    for key in gpu.keys.values():
        np.testing.assert_allclose(g.get(key).astype(np.float32), c.get(key).astype(np.float32),
                                   atol=0.05)


def test_interrupted_device_fill_resumes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    paths = [write(src / f"s{i}.wav", tone(200 + 100 * i, 1.5)) for i in range(5)]
    seen = []

    def stop_after_two(path, status):
        seen.append(status)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        preprocess(paths, SPEC, tmp_path / "c", backend="torch", device="cpu",
                   progress=stop_after_two)
    cache = FeatureCache.open(tmp_path / "c", SPEC, backend="torch")
    assert len(cache.entries()) == 2  # what was stored before the stop stays valid
    res = preprocess(paths, SPEC, tmp_path / "c", backend="torch", device="cpu")
    assert (res.cached, res.computed) == (2, 3)
