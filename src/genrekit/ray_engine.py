"""Ray Data engine for catalogs beyond one machine: ``genrekit preprocess --engine ray`` and
``genrekit predict --engine ray`` (``pip install genrekit[ray]``).

- The catalog becomes a Ray Dataset of paths. Hashing, decoding and features run in
  ``map_batches`` CPU tasks (one core each) through the same content-hash feature cache as
  the local engine (``preprocess.process_file``), so a rerun skips finished files and the
  two engines' cache entries are interchangeable.
- Prediction: the model runs in a pool of actors (one per GPU with ``device="cuda"``, else
  CPU actors), each holding the model once and batching slices across songs. The model file
  travels through Ray's object store, so workers need no copy of it.
- Results stream to a Parquet folder, one row per song: ``path``, ``key`` (content hash),
  ``label``, ``score``, ``scores`` / ``top_k`` / ``timeline`` (JSON text), ``duration``,
  ``error``. A failed file is a row with ``error`` set, never a crashed job. A rerun reads
  the folder first and predicts only songs with no good row for the same content.
- On a cluster (``address``), ``cache_dir`` and the output folder must be on storage every
  node sees (NFS, a mounted bucket); the input paths too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import EngineError, ParameterError
from .preprocess import (
    DEFAULT_MAX_DURATION,
    DEFAULT_MIN_DURATION,
    PreprocessResult,
    open_cache,
    process_file,
)

#: Songs per Ray task: enough to amortise task overhead, small enough to balance load.
FILES_PER_TASK = 4


def require_ray():
    try:
        import ray
    except ImportError:
        raise ParameterError("--engine ray needs Ray: pip install 'genrekit[ray]'") from None
    return ray


def init(address: str | None = None, num_cpus: int | None = None):
    """Connect to the cluster at ``address`` (``auto``: the one this machine belongs to), or
    start a local one with ``num_cpus`` workers."""
    import logging

    ray = require_ray()
    logging.getLogger("ray").setLevel(logging.WARNING)  # progress is genrekit's to show
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    if not ray.is_initialized():
        kw = {"address": address} if address else {"num_cpus": num_cpus}
        try:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
                     **kw)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address!r}" if address else "a local Ray cluster"
            raise EngineError(f"cannot start or join {where}: "
                              f"{str(exc).splitlines()[0][:200]}") from None
        ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


def _feature_batch(batch: dict, args: tuple) -> dict:
    """Ray task: hash, look up and compute a few files (threads pinned to one core)."""
    from threadpoolctl import threadpool_limits

    from .features import fast

    fast.set_parallel(False)
    with threadpool_limits(1):
        rows = [process_file(str(p), *args) for p in batch["path"]]
    return {name: np.array([r[i] or "" for r in rows], dtype=object)
            for i, name in enumerate(("path", "key", "status", "reason"))}


def _features_dataset(ray, paths, spec, cache_dir, *, dtype, min_duration, max_duration,
                      backend):
    cache = open_cache(cache_dir, spec, max_duration=max_duration, dtype=dtype,
                       backend=backend)
    cache.clean_partial()
    args = (spec.to_dict(), str(cache.root), cache.namespace, dtype, min_duration,
            max_duration, backend)
    ds = ray.data.from_items([{"path": str(p)} for p in paths],
                             override_num_blocks=max(1, -(-len(paths) // FILES_PER_TASK)))
    return ds.map_batches(_feature_batch, fn_kwargs={"args": args}, batch_size=FILES_PER_TASK,
                          batch_format="numpy", num_cpus=1), cache


def preprocess_ray(paths, spec, cache_dir, *, address: str | None = None,
                   num_cpus: int | None = None, min_duration: float = DEFAULT_MIN_DURATION,
                   max_duration: float | None = DEFAULT_MAX_DURATION, dtype: str = "float16",
                   backend: str | None = None,
                   progress: Callable[[str, str], None] | None = None) -> PreprocessResult:
    """``preprocess.preprocess`` on a Ray cluster: same cache entries, same result."""
    ray = init(address, num_cpus)
    paths = [str(p) for p in paths]
    ds, _ = _features_dataset(ray, paths, spec, cache_dir, dtype=dtype,
                              min_duration=min_duration, max_duration=max_duration,
                              backend=backend)
    res = PreprocessResult(total=len(paths))
    for row in ds.iter_rows():
        res.record(row["path"], row["status"], row["key"] or None, row["reason"] or None)
        if progress:
            progress(row["path"], row["status"])
    order = {p: i for i, p in enumerate(paths)}
    res.failures.sort(key=lambda r: order.get(r[0], 0))
    return res


class _Predictor:
    """Ray actor: one model, features read from the cache, slices batched across songs."""

    def __init__(self, model_ref, suffix: str, device: str, cache_args: tuple, top_k: int,
                 batch_size: int, aggregate: str | None):
        import tempfile

        import ray

        from .features.cache import FeatureCache
        from .features.spec import FeatureSpec
        from .inference.classifier import GenreClassifier

        blob = ray.get(model_ref) if isinstance(model_ref, ray.ObjectRef) else model_ref
        self._tmp = tempfile.NamedTemporaryFile(suffix=suffix)
        self._tmp.write(blob)
        self._tmp.flush()
        self.clf = GenreClassifier.load(self._tmp.name, device=device, aggregate=aggregate)
        spec_dict, root, namespace, dtype = cache_args
        self.cache = FeatureCache(root, FeatureSpec.from_dict(spec_dict), dtype=dtype)
        self.cache.namespace = namespace
        self.top_k, self.batch_size = top_k, batch_size

    def __call__(self, batch: dict) -> dict:
        rows = [dict(zip(batch, vals, strict=True)) for vals in zip(*batch.values(),
                                                                     strict=True)]
        good = []
        for r in rows:
            if r["status"] != "failed":
                X = self.cache.get(r["key"])
                if X is None:
                    r["status"], r["reason"] = "failed", "cache entry unreadable"
                else:
                    good.append((r["path"], X.astype(np.float32, copy=False)))
        preds = dict(zip([p for p, _ in good], self.clf.predict_features(
            good, top_k=self.top_k, batch_size=self.batch_size), strict=True))
        out = {k: [] for k in ("path", "key", "label", "score", "scores", "top_k", "timeline",
                               "duration", "error")}
        for r in rows:
            p = preds.get(r["path"])
            d = p.to_dict() if p is not None else {}
            out["path"].append(r["path"])
            out["key"].append(r["key"] or None)
            out["label"].append(d.get("label"))
            out["score"].append(d.get("score", float("nan")))
            out["duration"].append(d.get("duration", float("nan")))
            for k in ("scores", "top_k", "timeline"):
                out[k].append(json.dumps(d[k]) if p is not None else None)
            out["error"].append(None if p is not None else (r["reason"] or "failed"))
        return {k: np.array(v, dtype=np.float64 if k in ("score", "duration") else object)
                for k, v in out.items()}


def finished(out_dir) -> set[tuple[str, str]]:
    """``(path, key)`` of every song the Parquet folder ``out_dir`` has a row for, with a
    content hash: predicted, or failed for a reason of its bytes. Rows of files that could
    not be read (no hash) are not finished: a rerun tries them again."""
    import pyarrow.parquet as pq

    done = set()
    for f in _parquet_files(out_dir):
        t = pq.read_table(f, columns=["path", "key"]).to_pydict()
        done |= {(p, k) for p, k in zip(t["path"], t["key"], strict=True) if k}
    return done


def _parquet_files(out_dir) -> set[Path]:
    out = Path(out_dir)
    return set(out.glob("*.parquet")) if out.is_dir() else set()


def predict_ray(paths, model_path, out_dir, *, address: str | None = None,
                num_cpus: int | None = None, actors: int = 1, device: str = "cpu",
                cache_dir="cache", top_k: int = 3, batch_size: int | None = None,
                aggregate: str | None = None) -> dict:
    """Predict every path on a Ray cluster into the Parquet folder ``out_dir``.

    Features go to ``cache_dir`` in float32 (so results equal the local engine's).
    Returns counts ``{"predicted", "failed", "skipped"}`` (skipped: already in ``out_dir``).
    """
    import pyarrow.parquet as pq

    from .inference.classifier import GenreClassifier

    if actors < 1:
        raise ParameterError(f"actors must be >= 1, got {actors}")
    ray = init(address, num_cpus)
    clf = GenreClassifier.load(model_path)  # validates the file and gives the feature spec
    paths = [str(p) for p in paths]
    ds, cache = _features_dataset(ray, paths, clf.spec, cache_dir, dtype="float32",
                                  min_duration=DEFAULT_MIN_DURATION,
                                  max_duration=clf.max_duration, backend=None)
    done = finished(out_dir)
    if done:
        ds = ds.filter(lambda row: (row["path"], row["key"]) not in done)
    gpu = device.startswith("cuda")
    cache_args = (clf.spec.to_dict(), str(cache.root), cache.namespace, "float32")
    model_ref = ray.put(Path(model_path).read_bytes())
    ds = ds.map_batches(
        _Predictor, fn_constructor_args=(model_ref, Path(model_path).suffix, device,
                                         cache_args, top_k, batch_size, aggregate),
        batch_size=8, batch_format="numpy", concurrency=actors, num_gpus=1 if gpu else 0,
        num_cpus=0 if gpu else 1)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    before = _parquet_files(out_dir)
    ds.write_parquet(str(out_dir))
    ok = failed = 0
    for f in sorted(_parquet_files(out_dir) - before):
        errors = pq.read_table(f, columns=["error"]).column("error").to_pylist()
        failed += sum(e is not None for e in errors)
        ok += sum(e is None for e in errors)
    return {"predicted": ok, "failed": failed, "skipped": len(paths) - ok - failed}
