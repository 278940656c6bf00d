"""Decoding (and, on a CPU, features) of many files in worker processes, in input order:
what ``GenreClassifier.predict_many`` batches its model calls over."""

from __future__ import annotations


def decode_job(path: str, spec_dict: dict, max_duration, features: bool):
    """Worker: the checked audio at the model's rate, or its features (fast CPU backend)
    when ``features``; or the error's one line."""
    from ..features.spec import FeatureSpec
    from ..preprocess import decode_checked, failure_reason

    try:
        spec = FeatureSpec.from_dict(spec_dict)
        y = decode_checked(path, spec, max_duration=max_duration)
        if features:
            from ..features import compute_features

            return path, compute_features(y, spec.sr, spec), None
        return path, y, None
    except Exception as exc:  # one line for this file; the others go on
        return path, None, failure_reason(exc)


def decode_stream(paths, spec, jobs, group_size, max_duration, features=True):
    """Groups of ``(path, features or audio or None, error or None)``, in input order,
    decoded (and with ``features`` computed) in ``jobs`` worker processes."""
    args = (spec.to_dict(), max_duration, features)
    if jobs <= 1 or len(paths) <= 1:
        for i in range(0, len(paths), group_size):
            yield [decode_job(p, *args) for p in paths[i:i + group_size]]
        return
    from ..workers import bounded_map, worker_pool

    with worker_pool(jobs) as pool:  # a bounded window: results never pile up in memory
        it = bounded_map(pool, decode_job, ((p, *args) for p in paths),
                         window=group_size + 2 * jobs)
        group = []
        for r in it:
            group.append(r)
            if len(group) == group_size:
                yield group
                group = []
        if group:
            yield group
