"""Decoding (and, on a CPU, features) of many files in worker processes, in input order:
what ``GenreClassifier.predict_many`` batches its model calls over."""

from __future__ import annotations

from ..errors import GenrekitError


def decode_job(path: str, spec_dict: dict, max_duration, features: bool):
    """Worker: the checked audio at the model's rate, or its features (fast CPU backend)
    when ``features``; or the error's one line."""
    from ..features.spec import FeatureSpec
    from ..preprocess import decode_checked

    try:
        spec = FeatureSpec.from_dict(spec_dict)
        y = decode_checked(path, spec, max_duration=max_duration)
        if features:
            from ..features import compute_features

            return path, compute_features(y, spec.sr, spec), None
        return path, y, None
    except GenrekitError as exc:
        return path, None, getattr(exc, "reason", None) or str(exc)
    except Exception as exc:
        return path, None, f"unexpected {type(exc).__name__}: {str(exc)[:200]}"


def decode_stream(paths, spec, jobs, group_size, max_duration, features=True):
    """Groups of ``(path, features or audio or None, error or None)``, in input order,
    decoded (and with ``features`` computed) in ``jobs`` worker processes."""
    args = (spec.to_dict(), max_duration, features)
    if jobs <= 1 or len(paths) <= 1:
        for i in range(0, len(paths), group_size):
            yield [decode_job(p, *args) for p in paths[i:i + group_size]]
        return
    from ..preprocess import worker_pool

    with worker_pool(jobs) as pool:
        it = pool.map(decode_job, paths, *[[a] * len(paths) for a in args], chunksize=1)
        group = []
        for r in it:
            group.append(r)
            if len(group) == group_size:
                yield group
                group = []
        if group:
            yield group
