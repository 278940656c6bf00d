"""The Ray Data engine on a local 2-CPU Ray cluster gives the local engine's results:
the same cache entries and failures for preprocess, the same predictions for predict (to
Parquet), and a rerun skips finished work. Marked ``ray`` (deselect with -m 'not ray')."""

import json

import numpy as np
import pytest
from conftest import toy_genre, write

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from genrekit import GenreClassifier  # noqa: E402
from genrekit.engine.local import preprocess  # noqa: E402
from genrekit.engine.ray import predict_ray, preprocess_ray  # noqa: E402
from genrekit.features import FeatureSpec  # noqa: E402
from genrekit.features.cache import FeatureCache  # noqa: E402

# one xdist worker for every test that starts a cluster (Ray, torchrun): no port races
pytestmark = [pytest.mark.ray, pytest.mark.xdist_group("clusters")]


@pytest.fixture(scope="module")
def cluster():
    from genrekit.engine import ray as ray_engine

    ray_engine.init(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("songs")
    paths = [write(d / f"{g}{i}.wav", toy_genre(g, 40 + i, seconds=2.5 + i))
             for g in ("tones", "noise", "chirps") for i in range(2)]
    (d / "empty.wav").write_bytes(b"")
    (d / "notes.wav").write_text("not audio")
    return [str(p) for p in paths] + [str(d / "empty.wav"), str(d / "notes.wav"),
                                      str(d / "missing.wav")]


def test_preprocess_matches_the_local_engine(cluster, files, tmp_path):
    spec = FeatureSpec(names=("mel", "hpss"), n_mels=32)
    local = preprocess(files, spec, tmp_path / "local", jobs=1)
    seen = []
    remote = preprocess_ray(files, spec, tmp_path / "ray", progress=lambda p, s: seen.append(s))
    assert remote.keys == local.keys and remote.failures == local.failures
    assert len(remote.failures) == 3 and remote.computed == 6 and len(seen) == len(files)
    a, b = FeatureCache.open(tmp_path / "local", spec), FeatureCache.open(tmp_path / "ray", spec)
    for key in local.keys.values():
        np.testing.assert_array_equal(a.get(key), b.get(key))  # exactly the same entries
    again = preprocess_ray(files, spec, tmp_path / "ray")
    assert again.cached == 6 and again.computed == 0 and again.failures == local.failures


def close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 2e-6 for k in a), (a, b)


def test_predict_to_parquet_matches_local_and_resumes(cluster, files, tiny_checkpoint, tmp_path):
    out = tmp_path / "preds"
    counts = predict_ray(files, tiny_checkpoint, out, cache_dir=tmp_path / "cache")
    assert counts == {"predicted": 6, "failed": 3, "skipped": 0}
    rows = {}
    for f in sorted(out.glob("*.parquet")):
        for r in pq.read_table(f).to_pylist():
            rows[r["path"]] = r
    assert set(rows) == set(files)
    clf = GenreClassifier.load(tiny_checkpoint)
    for path, pred, err in clf.predict_many(files):
        r = rows[path]
        if err is not None:
            assert r["label"] is None and r["error"] == err
            continue
        assert r["error"] is None and r["label"] == pred.label
        assert r["closest"] == pred.closest and np.isnan(r["novelty"])  # no novelty model
        # the same numbers up to the last printed decimal: the actors batch slices of other
        # songs together, and torch's CPU kernels (oneDNN, per CPU) may round a batch of
        # another size differently in the 7th digit
        want = pred.to_dict()
        close(json.loads(r["scores"]), want["scores"])
        assert abs(r["score"] - want["score"]) <= 2e-6
        got_tl = json.loads(r["timeline"])
        assert [(s["start"], s["end"], s["label"]) for s in got_tl] == \
            [(s["start"], s["end"], s["label"]) for s in want["timeline"]]
        for a, b in zip(got_tl, want["timeline"], strict=True):
            close(a["scores"], b["scores"])
    n_files = len(list(out.glob("*.parquet")))
    again = predict_ray(files, tiny_checkpoint, out, cache_dir=tmp_path / "cache")
    assert again["predicted"] == 0 and again["skipped"] >= 8  # only the missing file retried
    total = sum(pq.read_table(f).num_rows for f in out.glob("*.parquet"))
    assert total <= len(files) + 1 and len(list(out.glob("*.parquet"))) >= n_files


def test_cli_engine_ray(cluster, files, tiny_checkpoint, tmp_path, capsys):
    from genrekit.cli import main

    rc = main(["preprocess", *files[:6], "--engine", "ray", "--cache-dir", str(tmp_path / "c"),
               "--features", "mel", "--n-mels", "32"])
    assert rc == 0 and "6 computed" in capsys.readouterr().out
    rc = main(["predict", *files, "--engine", "ray", "--model", str(tiny_checkpoint),
               "--out", str(tmp_path / "p"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert rc == 1 and "6 predicted, 2 failed" in err  # the undecodable files are rows too
    assert "missing.wav: not found" in err  # a path that does not exist is an input error
    assert main(["predict", files[0], "--engine", "ray"]) == 2  # needs --out
