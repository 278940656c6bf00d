"""Catalog preprocessing: decode + features for many files in N processes, through the cache.

Each file is hashed in the parent first; only cache misses go to the worker pool, so a rerun
over a finished catalog only reads and hashes. Workers write each entry atomically, so a
killed run resumes where it stopped. A file that fails becomes a ``(path, reason)`` row;
the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field

from .errors import GenrekitError, ParameterError
from .features.cache import FeatureCache
from .features.spec import FeatureSpec

#: Shorter decoded audio than this is refused (too little music to say a genre).
DEFAULT_MIN_DURATION = 1.0
#: Only the first this-many seconds of a longer file are decoded (a 2-hour mix is not loaded).
DEFAULT_MAX_DURATION = 600.0


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


def decode_checked(path, spec: FeatureSpec, *, min_duration: float = DEFAULT_MIN_DURATION,
                   max_duration: float | None = DEFAULT_MAX_DURATION):
    """Decode ``path`` at ``spec.sr`` (at most ``max_duration`` s) and refuse audio that
    cannot carry a genre (see :func:`check_signal`). Returns mono float32 ``y``."""
    from .audio import load_audio

    y, sr = load_audio(path, sr=spec.sr, duration=max_duration)
    check_signal(y, sr, path, min_duration=min_duration)
    return y


def extract(path, spec: FeatureSpec, *, min_duration: float = DEFAULT_MIN_DURATION,
            max_duration: float | None = DEFAULT_MAX_DURATION, backend: str | None = None):
    """Decode ``path`` at ``spec.sr`` and compute its features ``[C, F, T]``.

    Raises:
        AudioLoadError: undecodable, too short (``min_duration`` s) or silent.
    """
    from .features import compute_features
    from .features.registry import DEFAULT_BACKEND

    y = decode_checked(path, spec, min_duration=min_duration, max_duration=max_duration)
    return compute_features(y, spec.sr, spec, backend=backend or DEFAULT_BACKEND)


#: Audio whose peak stays below this (-80 dBFS) is treated as silence.
SILENCE_PEAK = 1e-4


def check_signal(y, sr: int, path, *, min_duration: float = DEFAULT_MIN_DURATION) -> None:
    """Refuse audio that cannot carry a genre: too short, or silent.

    Raises:
        AudioLoadError: naming ``path`` (or ``<array>``) and the reason.
    """
    import numpy as np

    from .errors import AudioLoadError

    seconds = len(y) / sr
    if seconds < min_duration:
        raise AudioLoadError(path, f"too short: {seconds:.2f} s of audio, need at least "
                                   f"{min_duration:g} s")
    if len(y) and float(np.max(np.abs(y))) < SILENCE_PEAK:
        raise AudioLoadError(path, "silent: the peak level is below -80 dBFS")


def open_cache(cache_dir, spec: FeatureSpec, *, max_duration=DEFAULT_MAX_DURATION,
               dtype="float16", backend: str | None = None) -> FeatureCache:
    """The cache for ``spec``, namespaced by the feature backend's version and the decoded
    window (entries of other backends or windows never mix in)."""
    from .features.registry import DEFAULT_BACKEND, backend_version

    cache = FeatureCache(cache_dir, spec, dtype=dtype)
    cache.namespace += f"-{backend_version(backend or DEFAULT_BACKEND)}"
    if max_duration is not None:  # the decoded window changes the features: part of the key
        cache.namespace += f"-max{max_duration:g}s"
    return cache


def lookup(cache: FeatureCache, path: str, digest) -> tuple[str | None, str | None,
                                                             str | None]:
    """``(status, key, reason)`` of a file before any decoding: ``cached``, ``failed``
    (unreadable, or a failure remembered for its content), or ``None`` (to compute)."""
    try:
        key = digest(path)
    except FileNotFoundError:
        return "failed", None, "file not found"
    except OSError as exc:
        return "failed", None, f"cannot read: {exc.strerror or exc}"
    if cache.contains(key):
        return "cached", key, None
    if (reason := cache.failure(key)) is not None:
        return "failed", key, reason
    return None, key, None


def process_file(path: str, spec_dict: dict, cache_dir: str, namespace: str, dtype: str,
                 min_duration: float, max_duration: float | None, backend: str | None):
    """Hash, look up and (on a miss) compute one file, all in the calling process (what a
    distributed task does). Returns ``(path, key, status, reason)``."""
    from .features.cache import file_digest

    cache = FeatureCache(cache_dir, FeatureSpec.from_dict(spec_dict), dtype=dtype)
    cache.namespace = namespace
    status, key, reason = lookup(cache, path, file_digest)
    if status is not None:
        return path, key, status, reason
    _, _, err = _work(path, key, spec_dict, cache_dir, namespace, dtype, min_duration,
                      max_duration, backend)
    return path, key, "failed" if err else "computed", err


def _work(path: str, key: str, spec_dict: dict, cache_dir: str, namespace: str, dtype: str,
          min_duration: float, max_duration: float | None, backend: str | None):
    """Worker: compute and store one entry. Returns ``(path, key, error or None)``."""
    spec = FeatureSpec.from_dict(spec_dict)
    cache = FeatureCache(cache_dir, spec, dtype=dtype)
    cache.namespace = namespace
    try:
        X = extract(path, spec, min_duration=min_duration, max_duration=max_duration,
                    backend=backend)
        cache.put(key, X)
        return path, key, None
    except Exception as exc:  # keep the batch going, say what happened
        return path, key, record_failure(cache, key, exc)


def failure_reason(exc: Exception) -> str:
    """The one line that reports a file's failure."""
    if isinstance(exc, GenrekitError):
        return getattr(exc, "reason", None) or str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory while computing features"
    return f"unexpected {type(exc).__name__}: {str(exc)[:200]}"  # a bug or an odd file


def record_failure(cache: FeatureCache, key: str, exc: Exception) -> str:
    """:func:`failure_reason`; a failure that is a property of the file's bytes
    (``AudioLoadError``) is also remembered in ``cache``, so a rerun does not decode again."""
    from .errors import AudioLoadError

    if isinstance(exc, AudioLoadError):
        cache.put_failure(key, exc.reason)
    return failure_reason(exc)


def preprocess(paths, spec: FeatureSpec, cache_dir, *, jobs: int = 1,
               min_duration: float = DEFAULT_MIN_DURATION,
               max_duration: float | None = DEFAULT_MAX_DURATION, dtype: str = "float16",
               backend: str | None = None, device=None,
               progress: Callable[[str, str], None] | None = None) -> PreprocessResult:
    """Compute and cache features for every path.

    Args:
        paths: audio files.
        jobs: worker processes (1: in this process, with BLAS threads pinned to 1).
        backend: feature backend (default ``fast``); each has its own cache entries.
        device: with ``backend="torch"``, the torch device that computes the features in
            batches while ``jobs`` workers decode (``preprocess_device``); ``"auto"``: a
            GPU when there is one. None (or "auto" without a GPU): each worker computes
            its own files' features on its core.
        progress: called as ``progress(path, status)`` once per file, status in
            ``{"cached", "computed", "failed"}``.

    Returns:
        PreprocessResult with counts, failures and each good file's cache key.
    """
    if jobs < 1:
        raise ParameterError(f"jobs must be >= 1, got {jobs}")
    cache = open_cache(cache_dir, spec, max_duration=max_duration, dtype=dtype,
                       backend=backend)
    cache.clean_partial()
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

    args = (spec.to_dict(), str(cache.root), cache.namespace, dtype, min_duration, max_duration,
            backend)
    from .preprocess_device import fill_on_device, resolve_feature_device

    device = resolve_feature_device(backend, device)
    if not todo:
        pass
    elif device is not None:
        fill_on_device(todo, spec, cache, device=device, jobs=jobs, min_duration=min_duration,
                       max_duration=max_duration, done=done)
    elif jobs == 1 or len(todo) == 1:
        from threadpoolctl import threadpool_limits

        from .features import fast

        was = fast._PARALLEL[0]
        fast.set_parallel(False)  # jobs=1 means one core, like each worker
        try:
            with threadpool_limits(1):
                for p, key in todo:
                    _, _, err = _work(p, key, *args)
                    done(p, "failed" if err else "computed", key, err)
        finally:
            fast.set_parallel(was)
    else:
        from .workers import worker_pool

        with worker_pool(min(jobs, len(todo))) as pool:
            futures = [pool.submit(_work, p, key, *args) for p, key in todo]
            try:
                for fut in as_completed(futures):
                    p, key, err = fut.result()
                    done(p, "failed" if err else "computed", key, err)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    order = {str(p): i for i, p in enumerate(paths)}
    res.failures.sort(key=lambda r: order.get(r[0], 0))
    return res


def write_failures(path, failures) -> None:
    """``file,reason`` CSV, written atomically."""
    import csv

    from .fileio import atomic_write

    with atomic_write(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "reason"])
        w.writerows(failures)
