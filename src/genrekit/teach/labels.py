"""The labels file of the teach loop: the plain catalog CSV (``path,genre``) that
``genrekit finetune default labels.csv`` reads as it is.

A label changes its own row and nothing else: every other row (files outside the library,
files on a drive not mounted today, rows with an empty genre) and every other column
(``artist``, which finetune's grouped split reads, or anything the user keeps there) is
written back as it was read; a new song is a new row at the end. The file is read with the
one user-CSV reader (``userfiles.read_csv``: UTF-8 or cp1252, bounded fields, repeated rows
once) and written as UTF-8 with its own delimiter.

Every change rewrites the whole file atomically (temporary file, fsync, rename) under a
lock: a process killed at any moment leaves the old or the new file, never half a row, and
two requests at once (two browser tabs) are written one after the other."""

from __future__ import annotations

import csv
import io
import os
import threading
from pathlib import Path


def read_labels(path) -> tuple[dict[str, str], list[tuple[str, str]], list[tuple[str, str]]]:
    """``({real path: genre}, errors, notes)`` of a labels CSV; rows with an unknown file,
    an empty genre or a second, different genre for one file are errors (one line each), the
    good rows are kept (the first of conflicting ones); notes: the rest worth saying (read
    as cp1252, repeated rows merged). A missing file: no labels."""
    from ..data.manifest import from_csv

    if not Path(path).exists():
        return {}, [], []
    cat = from_csv(path, on_conflict="first")
    errors = list(cat.missing) + [(e, n) for e, n in cat.notes if "conflicting" in n]
    notes = [(e, n) for e, n in cat.notes if "conflicting" not in n]
    labels = {}
    for t in cat:
        if t.label is None:
            errors.append((str(t.path), "empty genre; row skipped"))
        else:
            labels[os.path.realpath(t.path)] = t.label
    return labels, errors, notes


class LabelBook:
    """The labels of one teach session, kept in ``path``. ``labels``: the usable labels
    (``read_labels``' first part; read from ``path`` when not given)."""

    def __init__(self, path, labels: dict[str, str] | None = None):
        from ..data.manifest import LABEL_COLUMNS, PATH_COLUMNS, pick_column
        from ..userfiles import read_csv

        self.path = Path(path)
        self.lock = threading.Lock()
        self.delimiter = ","
        self.columns, self.rows = ["path", "genre"], []
        if self.path.exists():
            table = read_csv(self.path, what="labels CSV")
            self.delimiter = table.delimiter
            self.columns = list(table.columns) or self.columns
            self.rows = [dict(r.values) for r in table.rows]
        cols = self.columns
        self.pcol = pick_column(cols, None, PATH_COLUMNS, "path", self.path, required=True)
        self.lcol = pick_column(cols, None, LABEL_COLUMNS, "label", self.path, required=False)
        if self.lcol is None:
            self.lcol = "genre"
            self.columns.append("genre")
        self.where: dict[str, int] = {}  # real path -> row index (the first row of a file)
        for i, row in enumerate(self.rows):
            self.where.setdefault(self._key(row.get(self.pcol) or ""), i)
        self.labels: dict[str, str] = dict(labels if labels is not None
                                           else read_labels(self.path)[0])

    def _key(self, entry: str) -> str:
        p = Path(entry.strip())
        return os.path.realpath(p if p.is_absolute() else self.path.parent / p)

    def set(self, song: str, genre: str) -> str | None:
        """Label ``song``; returns its row's genre before (None: it had no row)."""
        with self.lock:
            key = os.path.realpath(song)
            i = self.where.get(key)
            if i is None:
                before = None
                self.where[key] = len(self.rows)
                self.rows.append({self.pcol: key, self.lcol: genre})
            else:
                before = self.rows[i].get(self.lcol) or ""
                self.rows[i][self.lcol] = genre
            self.labels[key] = genre
            self._write()
            return before

    def restore(self, song: str, before: str | None) -> None:
        """Undo a :meth:`set` that returned ``before``: the row back as it was, or gone."""
        with self.lock:
            key = os.path.realpath(song)
            i = self.where.get(key)
            if i is None:
                return
            if before is None:
                del self.rows[i]
                self.where = {k: j - (j > i) for k, j in self.where.items() if j != i}
                self.labels.pop(key, None)
            else:
                self.rows[i][self.lcol] = before
                if before.strip():
                    self.labels[key] = before
                else:
                    self.labels.pop(key, None)
            self._write()

    def remove(self, song: str) -> None:
        """Forget ``song``'s label (its row goes)."""
        self.restore(song, None)

    def _write(self) -> None:
        from ..fileio import atomic_write_text

        buf = io.StringIO()
        w = csv.writer(buf, delimiter=self.delimiter, lineterminator="\n")
        w.writerow(self.columns)
        w.writerows([row.get(c, "") for c in self.columns] for row in self.rows)
        atomic_write_text(self.path, buf.getvalue())
