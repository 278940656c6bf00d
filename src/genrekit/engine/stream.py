"""Decoding (and, on a CPU, features) of many files in worker processes, in input order:
what ``GenreClassifier.predict_many`` batches its model calls over."""

from __future__ import annotations

from collections.abc import Iterator

from .jobs import FileJob, failure_reason, run_file


def decode_stream(paths: list[str], job: FileJob, jobs: int, group_size: int,
                  features: bool = True) -> Iterator[list[tuple]]:
    """Groups of ``(path, features or audio or None, reason or None)``, in input order,
    decoded (and with ``features`` computed) in ``jobs`` worker processes."""
    rows = ((p, job, features) for p in paths)
    if jobs <= 1 or len(paths) <= 1:
        results = (run_file(*r) for r in rows)
        yield from _groups(results, group_size)
        return
    from .pool import bounded_map, worker_pool

    with worker_pool(jobs) as pool:  # a bounded window: results never pile up in memory
        yield from _groups(bounded_map(pool, run_file, rows, window=group_size + 2 * jobs),
                           group_size)


def _groups(results, size: int):
    group = []
    for path, value, exc in results:
        group.append((path, value, None if exc is None else failure_reason(exc)))
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group
