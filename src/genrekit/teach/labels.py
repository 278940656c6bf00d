"""The labels file of the teach loop: the plain catalog CSV (``path,genre``) that
``genrekit finetune default labels.csv`` reads as it is.

Every change rewrites the whole file atomically (temporary file, fsync, rename) under a
lock: a process killed at any moment leaves the old or the new file, never half a row, and
two requests at once (two browser tabs) are written one after the other."""

from __future__ import annotations

import csv
import io
import os
import threading
from pathlib import Path


def read_labels(path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """``({real path: genre}, errors)`` of a labels CSV; rows with an unknown file, an empty
    genre or a second, different genre for one file are errors (one line each), the good
    rows are kept (the first of conflicting ones). A missing file: no labels."""
    from ..data.manifest import from_csv

    if not Path(path).exists():
        return {}, []
    cat = from_csv(path, on_conflict="first")
    errors = list(cat.missing) + [(e, n) for e, n in cat.notes if "conflicting" in n]
    labels = {}
    for t in cat:
        if t.label is None:
            errors.append((str(t.path), "empty genre; row skipped"))
        else:
            labels[os.path.realpath(t.path)] = t.label
    return labels, errors


class LabelBook:
    """The labels of one teach session, kept in ``path`` (rows of files outside the library
    are kept as they are)."""

    def __init__(self, path, labels: dict[str, str] | None = None):
        self.path = Path(path)
        self.labels: dict[str, str] = dict(labels or {})  # real path -> genre, in order
        self.lock = threading.Lock()

    def set(self, song: str, genre: str) -> None:
        with self.lock:
            key = os.path.realpath(song)
            self.labels.pop(key, None)  # a relabel moves the row to the end
            self.labels[key] = genre
            self._write()

    def remove(self, song: str) -> None:
        with self.lock:
            self.labels.pop(os.path.realpath(song), None)
            self._write()

    def _write(self) -> None:
        from ..fileio import atomic_write_text

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path", "genre"])
        w.writerows(self.labels.items())
        atomic_write_text(self.path, buf.getvalue())
