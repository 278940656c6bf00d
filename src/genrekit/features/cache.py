"""``FeatureCache``: features on disk keyed by file content + FeatureSpec + code version.

Renaming or moving a file keeps its entry (the key hashes the bytes, not the path);
changing any FeatureSpec field or the feature code's version misses. Entries are ``.npy``
files written to a temporary name and moved into place with ``os.replace``, so a killed
process never leaves a partial entry under a valid name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import DEFAULT_MAX_DURATION
from ..fileio import atomic_write

_CHUNK = 1 << 20


def file_digest(path) -> str:
    """BLAKE2b-128 of the file's bytes (hex)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class CacheAddress:
    """Everything that names a cache's entries, as plain picklable data: what a worker
    process (or a Ray task) needs to open the very same cache as its parent."""

    root: str
    spec: dict
    dtype: str = "float16"
    backend: str | None = None
    max_duration: float | None = None

    def open(self) -> FeatureCache:
        from .spec import FeatureSpec

        return FeatureCache(self.root, FeatureSpec.from_dict(self.spec), dtype=self.dtype,
                            backend=self.backend, max_duration=self.max_duration)


class FeatureCache:
    """A folder of cached feature arrays.

    The entries' folder (``namespace``) is named by everything that changes the arrays: the
    FeatureSpec, the storage dtype and, when given, the feature backend's version and the
    decoded window. :meth:`open` is what the engines use (backend and window always set).

    Args:
        root: cache folder (created on first write).
        spec: the FeatureSpec whose outputs this cache holds.
        dtype: storage dtype (float16 halves disk and RAM; float32 is exact).
        backend: the feature backend that computes the entries (its version is in the key).
        max_duration: the decoded window in seconds (None: whole files).
    """

    def __init__(self, root, spec, *, dtype: str = "float16", backend: str | None = None,
                 max_duration: float | None = None):
        self.root = Path(root)
        self.spec = spec
        self.dtype = np.dtype(dtype)
        self.backend, self.max_duration = backend, max_duration
        namespace = f"{spec.key()}-{self.dtype.name}"
        if backend is not None:  # entries of two backends never mix
            from .registry import backend_version

            namespace += f"-{backend_version(backend)}"
        if max_duration is not None:  # the decoded window changes the features
            namespace += f"-max{max_duration:g}s"
        self.namespace = namespace
        self._digests: dict | None = None
        self._digests_dirty = False

    @classmethod
    def open(cls, root, spec, *, backend: str | None = None, dtype: str = "float16",
             max_duration: float | None = DEFAULT_MAX_DURATION) -> FeatureCache:
        """The cache the engines fill and read for ``spec``: keyed by content, spec, dtype,
        backend (default: the default backend) and decoded window."""
        from .registry import DEFAULT_BACKEND

        return cls(root, spec, dtype=dtype, backend=backend or DEFAULT_BACKEND,
                   max_duration=max_duration)

    @property
    def address(self) -> CacheAddress:
        return CacheAddress(str(self.root), self.spec.to_dict(), self.dtype.name, self.backend,
                            self.max_duration)

    def key_for(self, path) -> str:
        """The file's content digest, memoised by (size, mtime, inode) in
        ``ROOT/digests.json`` so a rerun over a large catalog does not re-read every byte."""
        import os

        if self._digests is None:
            self._digests = self._load_digests()
        st = os.stat(path)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        name = os.path.abspath(path)
        hit = self._digests.get(name)
        if hit and hit[:3] == stamp:
            return hit[3]
        digest = file_digest(path)
        self._digests[name] = [*stamp, digest]
        self._digests_dirty = True
        return digest

    def _load_digests(self) -> dict:
        import json

        try:
            return json.loads((self.root / "digests.json").read_text())
        except (OSError, ValueError):
            return {}

    def save_digests(self) -> None:
        import json

        from ..fileio import atomic_write_text

        if self._digests_dirty:
            try:
                atomic_write_text(self.root / "digests.json", json.dumps(self._digests))
            except OSError:  # a memo only (a full disk): the next run hashes again
                return
            self._digests_dirty = False

    def failure(self, key: str) -> str | None:
        """The recorded reason a file with this content could not be used, if any."""
        p = self.entry_path(key).with_suffix(".failed")
        return p.read_text(encoding="utf-8") if p.exists() else None

    def put_failure(self, key: str, reason: str) -> None:
        """Remember a deterministic failure (undecodable, too short, silent), so reruns
        report it without decoding the file again; a changed file has another key."""
        from ..fileio import atomic_write_text

        atomic_write_text(self.entry_path(key).with_suffix(".failed"), reason)

    def entry_path(self, key: str) -> Path:
        return self.root / self.namespace / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached array, or None when missing or unreadable (a bad entry is removed)."""
        p = self.entry_path(key)
        if not p.exists():
            return None
        try:
            return np.load(p, allow_pickle=False)
        except Exception:
            p.unlink(missing_ok=True)
            return None

    def contains(self, key: str) -> bool:
        return self.entry_path(key).exists()

    def put(self, key: str, X: np.ndarray) -> Path:
        p = self.entry_path(key)
        with atomic_write(p) as f:
            np.save(f, np.ascontiguousarray(X, dtype=self.dtype), allow_pickle=False)
        return p

    def entries(self) -> list[Path]:
        base = self.root / self.namespace
        if not base.exists():
            return []
        return sorted(p for p in base.glob("*/*.npy") if not p.name.startswith("."))

    def clean_partial(self) -> int:
        """Remove temporary files left by killed writers; returns how many."""
        base = self.root / self.namespace
        n = 0
        for t in base.glob("*/.tmp-*") if base.exists() else []:
            t.unlink(missing_ok=True)
            n += 1
        return n
