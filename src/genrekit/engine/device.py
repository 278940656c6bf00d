"""Filling the feature cache with the torch backend on a device (a GPU first).

Worker processes decode (the CPU part); this process stacks clips of the same length into
batches, runs ``TorchFeatures`` on the device and writes each entry atomically. Clips are
batched only with clips of exactly their length: padding a clip to a longer one would
change its last frames (HPSS's median reflects at the clip's own end). A batch that runs
out of device memory is retried clip by clip, and a clip that still does not fit is
computed by the same backend on the CPU. Failures, resume and cache entries follow
``engine.local.preprocess``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..features.cache import FeatureCache
from .jobs import FileJob, record_failure, run_file

#: Audio per device batch (clips of 30 s: 16 a batch); a longer clip goes alone.
BATCH_SECONDS = 480.0


def resolve_feature_device(backend: str | None, device):
    """The device that computes features in batches, or None (per-file CPU workers)."""
    if device is None:
        return None
    if backend != "torch":
        from ..errors import ParameterError

        raise ParameterError(f"a feature device ({device!r}) needs backend='torch', "
                             f"got backend={backend or 'fast'!r}")
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else None
    return device


class _Batches:
    """Decoded clips waiting for the device, grouped by length; computed and stored once
    ``budget`` samples are held (or at the end)."""

    def __init__(self, compute: Callable, cache: FeatureCache, done: Callable,
                 budget: int):
        self.compute, self.cache, self.done, self.budget = compute, cache, done, budget
        self.waiting: dict[int, list[tuple[str, str, np.ndarray]]] = {}
        self.held = 0

    def add(self, path: str, key: str, y: np.ndarray) -> None:
        self.waiting.setdefault(len(y), []).append((path, key, y))
        self.held += len(y)
        if self.held >= self.budget:
            self.flush()

    def flush(self) -> None:
        for rows in self.waiting.values():
            per_batch = max(1, self.budget // len(rows[0][2]))
            for i in range(0, len(rows), per_batch):
                self._run(rows[i:i + per_batch])
        self.waiting.clear()
        self.held = 0

    def _run(self, batch) -> None:
        try:
            feats = self.compute([y for _, _, y in batch])
        except Exception as exc:  # a bug or a device error: these files fail, not the job
            for p, key, _ in batch:
                self.done(p, "failed", key, record_failure(self.cache, key, exc))
            return
        for (p, key, _), X in zip(batch, feats, strict=True):
            self.cache.put(key, X)
            self.done(p, "computed", key, None)


def fill_on_device(todo: list[tuple[str, str]], job: FileJob, cache: FeatureCache, *,
                   device, jobs: int, done: Callable,
                   batch_seconds: float = BATCH_SECONDS) -> None:
    """Compute and store the features of ``todo`` (``(path, key)`` rows) on ``device``,
    decoding in ``jobs`` worker processes; ``done(path, status, key, reason)`` per file."""
    from ..features.torch_backend import DeviceFeatures
    from .pool import bounded_map, worker_pool

    spec = job.feature_spec
    batches = _Batches(DeviceFeatures(spec, device), cache, done,
                       budget=max(1, int(batch_seconds * spec.sr)))
    keys = dict(todo)
    rows = [(p, job, False) for p, _ in todo]  # workers decode; the device computes

    def consume(decoded):
        for p, y, exc in decoded:
            if exc is None:
                batches.add(p, keys[p], y)
            else:
                done(p, "failed", keys[p], record_failure(cache, keys[p], exc))
        batches.flush()

    if jobs == 1 or len(rows) == 1:
        consume(run_file(*r) for r in rows)
    else:
        with worker_pool(min(jobs, len(rows))) as pool:
            consume(bounded_map(pool, run_file, rows, window=2 * jobs))

