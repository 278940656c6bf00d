"""Ray Data engine for catalogs beyond one machine: ``genrekit preprocess --engine ray`` and
``genrekit predict --engine ray`` (``pip install genrekit[ray]``).

- The catalog becomes a Ray Dataset of paths. Hashing, decoding and features run in
  ``map_batches`` CPU tasks (one core each) through the same content-hash feature cache as
  the local engine (``engine.jobs.process_file``), so a rerun skips finished files and the
  two engines' cache entries are interchangeable.
- Prediction: the model runs in a pool of actors (one per GPU with ``device="cuda"``, else
  CPU actors), each holding the model once and batching slices across songs. The model file
  travels through Ray's object store, so workers need no copy of it.
- Results stream to a Parquet folder, one row per song: ``path``, ``key`` (content hash),
  ``label`` (``unknown`` where the model abstains), ``closest``, ``score``, ``novelty``
  (NaN without a novelty model), ``scores`` / ``top_k`` / ``timeline`` (JSON text), ``duration``,
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

from ..audio import DEFAULT_MAX_DURATION, DEFAULT_MIN_DURATION
from ..errors import EngineError, ParameterError
from .jobs import FileJob, open_catalog_job, process_file
from .local import PreprocessResult

#: Songs per Ray task: enough to amortise task overhead, small enough to balance load.
FILES_PER_TASK = 4


def require_ray():
    try:
        import ray
    except ImportError:
        raise ParameterError("--engine ray needs Ray: pip install 'genrekit[ray]'") from None
    return ray


def quiet_ray_logs(verbose: bool = False) -> None:
    """Ray's own INFO and WARNING lines stay out of the terminal unless ``verbose``:
    progress and errors are genrekit's to show."""
    import logging
    import os

    level = logging.INFO if verbose else logging.ERROR
    if not verbose:  # read by Ray when it configures its loggers (import, init)
        os.environ.setdefault("RAY_LOG_TO_STDERR", "0")
        os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    for name in ("ray", "ray.data", "ray._private", "ray.data._internal"):
        logging.getLogger(name).setLevel(level)


def init(address: str | None = None, num_cpus: int | None = None, *, verbose: bool = False):
    """Connect to the cluster at ``address`` (``auto``: the one this machine belongs to), or
    start a local one with ``num_cpus`` workers. Ray's log lines only with ``verbose``."""
    quiet_ray_logs(verbose)
    ray = require_ray()
    quiet_ray_logs(verbose)  # importing ray set its own levels
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


def _feature_batch(batch: dict, job: FileJob, address) -> dict:
    """Ray task: hash, look up and compute a few files (threads pinned to one core)."""
    from .pool import single_core

    with single_core():
        rows = [process_file(str(p), job, address) for p in batch["path"]]
    return {name: np.array([r[i] or "" for r in rows], dtype=object)
            for i, name in enumerate(("path", "key", "status", "reason"))}


def _features_dataset(ray, paths, spec, cache_dir, *, dtype, min_duration, max_duration,
                      backend):
    cache, job = open_catalog_job(cache_dir, spec, dtype=dtype, min_duration=min_duration,
                                  max_duration=max_duration, backend=backend)
    ds = ray.data.from_items([{"path": str(p)} for p in paths],
                             override_num_blocks=max(1, -(-len(paths) // FILES_PER_TASK)))
    return ds.map_batches(_feature_batch, fn_kwargs={"job": job, "address": cache.address},
                          batch_size=FILES_PER_TASK, batch_format="numpy", num_cpus=1), cache


def preprocess_ray(paths, spec, cache_dir, *, address: str | None = None,
                   num_cpus: int | None = None, min_duration: float = DEFAULT_MIN_DURATION,
                   max_duration: float | None = DEFAULT_MAX_DURATION, dtype: str = "float16",
                   backend: str | None = None, verbose: bool = False,
                   progress: Callable[[str, str], None] | None = None) -> PreprocessResult:
    """``engine.local.preprocess`` on a Ray cluster: same cache entries, same result."""
    ray = init(address, num_cpus, verbose=verbose)
    paths = [str(p) for p in paths]
    ds, _ = _features_dataset(ray, paths, spec, cache_dir, dtype=dtype,
                              min_duration=min_duration, max_duration=max_duration,
                              backend=backend)
    res = PreprocessResult(total=len(paths))
    for row in ds.iter_rows():
        res.record(row["path"], row["status"], row["key"] or None, row["reason"] or None)
        if progress:
            progress(row["path"], row["status"])
    res.sort_failures(paths)
    return res


class _Predictor:
    """Ray actor: one model, features read from the cache, slices batched across songs."""

    def __init__(self, model_ref, suffix: str, device: str, address, top_k: int,
                 batch_size: int, aggregate: str | None):
        import tempfile

        import ray

        from ..inference.classifier import load_classifier

        blob = ray.get(model_ref) if isinstance(model_ref, ray.ObjectRef) else model_ref
        self._tmp = tempfile.NamedTemporaryFile(suffix=suffix)
        self._tmp.write(blob)
        self._tmp.flush()
        self.clf = load_classifier(self._tmp.name, device=device, aggregate=aggregate)
        self.cache = address.open()
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
        out = {k: [] for k in ("path", "key", "label", "closest", "score", "novelty", "scores",
                               "top_k", "timeline", "duration", "error")}
        for r in rows:
            p = preds.get(r["path"])
            d = p.to_dict() if p is not None else {}
            out["path"].append(r["path"])
            out["key"].append(r["key"] or None)
            out["label"].append(d.get("label"))
            out["closest"].append(d.get("closest"))
            out["score"].append(d.get("score", float("nan")))
            nov = d.get("novelty")
            out["novelty"].append(float("nan") if nov is None else nov)
            out["duration"].append(d.get("duration", float("nan")))
            for k in ("scores", "top_k", "timeline"):
                out[k].append(json.dumps(d[k]) if p is not None else None)
            out["error"].append(None if p is not None else (r["reason"] or "failed"))
        return {k: np.array(v, dtype=np.float64 if k in ("score", "novelty", "duration")
                            else object)
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
                aggregate: str | None = None, verbose: bool = False) -> dict:
    """Predict every path on a Ray cluster into the Parquet folder ``out_dir``.

    Features go to ``cache_dir`` in float32 (so results equal the local engine's).
    Returns counts ``{"predicted", "failed", "skipped"}`` (skipped: already in ``out_dir``).
    """
    import pyarrow.parquet as pq

    from ..inference.classifier import load_classifier
    from ..inference.ensemble import EnsembleClassifier

    if actors < 1:
        raise ParameterError(f"actors must be >= 1, got {actors}")
    ray = init(address, num_cpus, verbose=verbose)
    clf = load_classifier(model_path)  # validates the file and gives the feature spec
    if isinstance(clf, EnsembleClassifier):
        raise ParameterError("--engine ray predicts with one feature stack per model: this "
                             "ensemble's members read different features; use --engine local")
    paths = [str(p) for p in paths]
    ds, cache = _features_dataset(ray, paths, clf.spec, cache_dir, dtype="float32",
                                  min_duration=DEFAULT_MIN_DURATION,
                                  max_duration=clf.max_duration, backend=None)
    done = finished(out_dir)
    if done:
        ds = ds.filter(lambda row: (row["path"], row["key"]) not in done)
    gpu = device.startswith("cuda")
    model_ref = ray.put(Path(model_path).read_bytes())
    ds = ds.map_batches(
        _Predictor, fn_constructor_args=(model_ref, Path(model_path).suffix, device,
                                         cache.address, top_k, batch_size, aggregate),
        batch_size=8, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=1 if gpu else 0,
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
