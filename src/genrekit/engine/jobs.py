"""One file's work, the same for every engine (in-process, worker pool, GPU batcher, Ray).

A :class:`FileJob` says how a file becomes features (spec, decode window, refusal rules,
backend); a :class:`~genrekit.features.cache.CacheAddress` says where they are stored. Both
are plain picklable data, so a worker process or a Ray task rebuilds exactly what its
parent would. :func:`failure_reason` is the one rule that turns an exception into the
one-line reason a user reads; :func:`record_failure` also remembers failures that belong to
the file's bytes, so a rerun reports them without decoding again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import DEFAULT_MAX_DURATION, DEFAULT_MIN_DURATION, load_checked
from ..errors import AudioLoadError, GenrekitError
from ..features.cache import CacheAddress, FeatureCache
from ..features.spec import FeatureSpec

#: frames a block when a long file's features are computed as it decodes (65 s at 16 kHz,
#: hop 256): each block's frames equal the whole song's (``features.stream``)
STREAM_BLOCK_FRAMES = 4096


@dataclass(frozen=True)
class FileJob:
    """How one file becomes features ``[C, F, T]``."""

    spec: dict  # FeatureSpec.to_dict()
    min_duration: float = DEFAULT_MIN_DURATION
    max_duration: float | None = DEFAULT_MAX_DURATION
    backend: str | None = None  # None: the default (fast) backend

    @classmethod
    def of(cls, spec: FeatureSpec, **kw) -> FileJob:
        return cls(spec.to_dict(), **kw)

    @property
    def feature_spec(self) -> FeatureSpec:
        return FeatureSpec.from_dict(self.spec)

    def decode(self, path) -> np.ndarray:
        """Mono float32 audio at the spec's rate; AudioLoadError if it cannot carry a genre."""
        return load_checked(path, self.spec["sr"], min_duration=self.min_duration,
                            max_duration=self.max_duration)

    def open(self, path):
        """A short file's checked audio (an array), or a long file's checked chunks as
        they decode (an iterator): ``audio.open_checked`` under this job's policy."""
        from ..audio import open_checked

        return open_checked(path, self.spec["sr"], min_duration=self.min_duration,
                            max_duration=self.max_duration)

    def features(self, path) -> np.ndarray:
        """Features ``[C, F, T]`` of ``path``; a long file's computed block by block as it
        decodes (``features.stream``: the song is never held whole, only its features)."""
        from ..features import compute_features
        from ..features.registry import DEFAULT_BACKEND
        from ..features.stream import FrameStream, streamable

        spec = self.feature_spec

        def compute(y):
            return compute_features(y, spec.sr, spec, backend=self.backend or DEFAULT_BACKEND)

        if not streamable(spec):
            return compute(self.decode(path))
        y = self.open(path)
        if isinstance(y, np.ndarray):
            return compute(y)
        return np.concatenate(list(FrameStream(spec, STREAM_BLOCK_FRAMES, compute).run(y)),
                              -1)


def open_catalog_job(cache_dir, spec: FeatureSpec, *, dtype: str, min_duration: float,
                     max_duration: float | None, backend: str | None
                     ) -> tuple[FeatureCache, FileJob]:
    """The cache a catalog's features go to (temporary files of killed writers removed)
    and the job that computes them: what every catalog engine starts from."""
    cache = FeatureCache.open(cache_dir, spec, max_duration=max_duration, dtype=dtype,
                              backend=backend)
    cache.clean_partial()
    return cache, FileJob.of(spec, min_duration=min_duration, max_duration=max_duration,
                             backend=backend)


def failure_reason(exc: BaseException) -> str:
    """The one line that reports a file's failure."""
    if isinstance(exc, GenrekitError):
        return getattr(exc, "reason", None) or str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory while computing features"
    if isinstance(exc, OSError) and exc.strerror:  # a full disk, a lost mount, permissions
        where = f" ({exc.filename})" if exc.filename else ""
        return f"cannot write the feature cache: {exc.strerror}{where}"
    return f"unexpected {type(exc).__name__}: {str(exc)[:200]}"  # a bug or an odd file


def record_failure(cache: FeatureCache, key: str, exc: BaseException) -> str:
    """:func:`failure_reason`; a failure that is a property of the file's bytes
    (``AudioLoadError``) is also remembered in ``cache``, so a rerun does not decode again."""
    if isinstance(exc, AudioLoadError):
        cache.put_failure(key, exc.reason)
    return failure_reason(exc)


def run_file(path: str, job: FileJob, features: bool = True):
    """Worker: ``(path, features or audio, None)`` or ``(path, None, GenrekitError)``.

    An unexpected exception comes back as a GenrekitError carrying its one-line reason: a
    library's own exception may not survive pickling to the parent."""
    try:
        return path, (job.features(path) if features else job.decode(path)), None
    except GenrekitError as exc:
        return path, None, exc
    except Exception as exc:  # one line for this file; the others go on
        return path, None, GenrekitError(failure_reason(exc))


def lookup(cache: FeatureCache, path: str, digest) -> tuple[str | None, str | None,
                                                             str | None]:
    """``(status, key, reason)`` of a file before any decoding: ``cached``, ``failed``
    (unreadable, not a regular file, or a failure remembered for its content), or ``None``
    (to compute). A FIFO or socket is refused before it is opened to be hashed."""
    from ..fileio import not_a_regular_file

    if why := not_a_regular_file(path):
        return "failed", None, why
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


def compute_entry(path: str, key: str, job: FileJob, address: CacheAddress):
    """Worker: compute and store one entry. Returns ``(path, key, reason or None)``."""
    cache = address.open()
    _, X, exc = run_file(path, job)
    if exc is not None:
        if not _same_content(path, key):  # the file was replaced: not its bytes' failure
            return path, key, CHANGED
        return path, key, record_failure(cache, key, exc)
    if not _same_content(path, key):  # never store one song's features under another's hash
        return path, key, CHANGED
    try:
        cache.put(key, X)
    except Exception as err:  # a full disk fails this file, not the batch
        return path, key, failure_reason(err)
    return path, key, None


#: The reason for a file whose bytes changed between hashing and decoding.
CHANGED = "file changed while it was being read (nothing cached; run again)"


def _same_content(path: str, key: str) -> bool:
    """Do the file's bytes still hash to ``key`` (the content its entry is stored under)?"""
    from ..features.cache import file_digest

    try:
        return file_digest(path) == key
    except OSError:
        return False


def process_file(path: str, job: FileJob, address: CacheAddress):
    """Hash, look up and (on a miss) compute one file, all in the calling process (what a
    distributed task does). Returns ``(path, key, status, reason)``."""
    from ..features.cache import file_digest

    status, key, reason = lookup(address.open(), path, file_digest)
    if status is not None:
        return path, key, status, reason
    _, _, err = compute_entry(path, key, job, address)
    return path, key, "failed" if err else "computed", err
