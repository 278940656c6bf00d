"""Song embeddings of a whole library through a model, computed once: each song's mean
embedding is stored under ``CACHE/embeddings/<model id>/<content hash>.npy`` (written
atomically), so a rerun, an interrupted run or a renamed file costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def model_key(classifier) -> str:
    from ..features.cache import file_digest

    return f"{Path(classifier.source).stem}-{file_digest(classifier.source)[:16]}"


def library_embeddings(paths, classifier, cache_dir, *, jobs: int = 1, progress=None):
    """``(Z [S, D], good paths, errors [(path, reason)])`` for ``paths``: cached songs are
    read, the rest predicted (``jobs`` decoding workers) and stored as they come."""
    from ..errors import ParameterError
    from ..features.cache import file_digest
    from ..fileio import atomic_write

    root = Path(cache_dir) / "embeddings" / model_key(classifier)
    got: dict[str, np.ndarray] = {}
    digest: dict[str, str] = {}
    errors: list[tuple[str, str]] = []
    todo = []
    for p in map(str, paths):
        try:
            digest[p] = file_digest(p)
        except OSError as exc:
            errors.append((p, f"cannot read: {exc.strerror or exc}"))
            continue
        f = root / f"{digest[p]}.npy"
        if f.exists():
            try:
                got[p] = np.load(f)
                if progress:
                    progress(p, "cached")
                continue
            except (OSError, ValueError):
                pass  # a damaged entry is recomputed
        todo.append(p)
    classifier.keep_embeddings = True
    for p, pred, err in (classifier.predict_many(todo, jobs=jobs, progress=progress)
                         if todo else ()):
        if err or pred is None or pred.embedding is None:
            errors.append((p, err or "this model gives no song embedding"))
            continue
        got[p] = np.asarray(pred.embedding, np.float32)
        with atomic_write(root / f"{digest[p]}.npy") as fh:
            np.save(fh, got[p])
    good = [str(p) for p in paths if str(p) in got]
    if not good:
        raise ParameterError("no song of the library could be read")
    return np.stack([got[p] for p in good]), good, errors


def same_file(a, b) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
