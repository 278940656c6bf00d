"""Catalog preprocessing on this machine: decode + features for many files in N processes,
through the cache.

Each file is hashed in the parent first; only cache misses go to the worker pool, so a rerun
over a finished catalog only reads and hashes. Workers write each entry atomically, so a
killed run resumes where it stopped. A file that fails becomes a ``(path, reason)`` row;
the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field

from ..audio import DEFAULT_MAX_DURATION, DEFAULT_MIN_DURATION
from ..errors import ParameterError
from ..features.cache import FeatureCache
from ..features.spec import FeatureSpec
from .jobs import FileJob, compute_entry, lookup, open_catalog_job


@dataclass
class PreprocessResult:
    total: int = 0
    computed: int = 0
    cached: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # path -> cache key

    @property
    def ok(self) -> bool:
        return not self.failures

    def record(self, path: str, status: str, key: str | None = None,
               reason: str | None = None) -> None:
        """One file's outcome: ``cached``, ``computed`` or ``failed`` (with ``reason``)."""
        if status == "failed":
            self.failures.append((path, reason))
        else:
            self.keys[path] = key
            setattr(self, status, getattr(self, status) + 1)

    def sort_failures(self, paths) -> None:
        """Failures in the order of the input paths."""
        order = {str(p): i for i, p in enumerate(paths)}
        self.failures.sort(key=lambda r: order.get(r[0], 0))


def preprocess(paths, spec: FeatureSpec, cache_dir, *, jobs: int = 1,
               min_duration: float = DEFAULT_MIN_DURATION,
               max_duration: float | None = DEFAULT_MAX_DURATION, dtype: str = "float16",
               backend: str | None = None, device=None,
               progress: Callable[[str, str], None] | None = None) -> PreprocessResult:
    """Compute and cache features for every path.

    Args:
        paths: audio files.
        jobs: worker processes (1: in this process, pinned to one core).
        backend: feature backend (default ``fast``); each has its own cache entries.
        device: with ``backend="torch"``, the torch device that computes the features in
            batches while ``jobs`` workers decode (``engine.device``); ``"auto"``: a
            GPU when there is one. None (or "auto" without a GPU): each worker computes
            its own files' features on its core.
        progress: called as ``progress(path, status)`` once per file, status in
            ``{"cached", "computed", "failed"}``.

    Returns:
        PreprocessResult with counts, failures and each good file's cache key.
    """
    from .device import fill_on_device, resolve_feature_device

    if jobs < 1:
        raise ParameterError(f"jobs must be >= 1, got {jobs}")
    cache, job = open_catalog_job(cache_dir, spec, dtype=dtype, min_duration=min_duration,
                                  max_duration=max_duration, backend=backend)
    res = PreprocessResult(total=len(paths))
    todo = []

    def done(path, status, key=None, reason=None):
        res.record(path, status, key, reason)
        if progress:
            progress(path, status)

    for p in map(str, paths):
        status, key, reason = lookup(cache, p, cache.key_for)
        if status is None:
            todo.append((p, key))
        else:
            done(p, status, key, reason)
    cache.save_digests()

    device = resolve_feature_device(backend, device)
    if not todo:
        pass
    elif device is not None:
        fill_on_device(todo, job, cache, device=device, jobs=jobs, done=done)
    else:
        _fill_on_cpu(todo, job, cache, jobs, done)
    res.sort_failures(paths)
    return res


def _fill_on_cpu(todo, job: FileJob, cache: FeatureCache, jobs: int, done) -> None:
    """Each file's features on one core: here (``jobs=1``) or in a worker pool."""
    from .pool import single_core, worker_pool

    address = cache.address
    if jobs == 1 or len(todo) == 1:
        with single_core():  # jobs=1 means one core, like each worker
            for p, key in todo:
                _, _, err = compute_entry(p, key, job, address)
                done(p, "failed" if err else "computed", key, err)
        return
    with worker_pool(min(jobs, len(todo))) as pool:
        futures = [pool.submit(compute_entry, p, key, job, address) for p, key in todo]
        try:
            for fut in as_completed(futures):
                p, key, err = fut.result()
                done(p, "failed" if err else "computed", key, err)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def write_failures(path, failures) -> None:
    """``file,reason`` CSV, written atomically; a full disk (or any write error) is an
    ``EngineError`` naming the file and why, the old file left as it was."""
    import csv

    from ..errors import EngineError
    from ..fileio import atomic_write

    try:
        with atomic_write(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "reason"])
            w.writerows(failures)
    except OSError as exc:
        raise EngineError(f"{path}: cannot write the failures list "
                          f"({(exc.strerror or str(exc)).lower()})") from None
