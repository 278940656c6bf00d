"""Catalogs: a folder per genre, a CSV of file + label, and split lists.

A :class:`Catalog` is a list of :class:`Track` (path, label, group, split) plus the
entries that could not be used (``missing``), which are reported, never silently dropped.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..audio import is_audio_path
from ..errors import ParameterError
from ..fileio import not_a_regular_file

PATH_COLUMNS = ("path", "file", "filename", "file_name", "id", "track", "audio")
LABEL_COLUMNS = ("genre", "label", "class", "category")
GROUP_COLUMNS = ("artist", "group", "album")


@dataclass(frozen=True)
class Track:
    path: Path
    label: str | None = None
    group: str | None = None
    split: str | None = None

    @property
    def song_id(self) -> str:
        return str(self.path)


@dataclass
class Catalog:
    tracks: list[Track]
    root: Path | None = None
    missing: list[tuple[str, str]] = field(default_factory=list)  # (entry, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (entry, note): not errors

    def __len__(self) -> int:
        return len(self.tracks)

    def __iter__(self):
        return iter(self.tracks)

    @property
    def classes(self) -> list[str]:
        return sorted({t.label for t in self.tracks if t.label is not None})

    def counts(self) -> Counter:
        return Counter(t.label for t in self.tracks)

    def subset(self, split: str) -> Catalog:
        return Catalog([t for t in self.tracks if t.split == split], self.root, self.missing,
                       self.notes)

    def relpath(self, track: Track) -> str:
        if self.root is not None:
            try:
                return track.path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return str(track.path)


def scan_audio(paths) -> Catalog:
    """Unlabelled catalog of the audio files in ``paths`` (files or folders, recursive).

    Entries named as audio that cannot be read as a file (a FIFO or socket, a dangling
    symbolic link, a link loop) are reported in ``Catalog.missing`` with the reason; none is
    ever opened, so none can block the scan."""
    tracks, missing = [], []
    for p in map(Path, paths):
        if p.is_dir():
            found, bad = _walk_audio(p)
            tracks += [Track(f) for f in found]
            missing += bad
        elif p.exists() or p.is_symlink():
            tracks.append(Track(p))  # decoding says what is wrong with it, if anything
        else:
            missing.append((str(p), "not found"))
    return Catalog(tracks, None, missing)


def _walk_audio(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Audio files below ``root`` (links to files followed, links to folders not: no loop),
    and ``(path, reason)`` for audio-named entries that are not readable regular files."""
    found, bad = [], []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files) + sorted(x for x in dirs if os.path.islink(Path(d) / x)):
            f = Path(d) / name
            if not is_audio_path(f):
                continue
            if why := not_a_regular_file(f):
                bad.append((str(f), why))
            else:
                found.append(f)  # an empty file is decoding's to report, like any bad file
    return found, bad


def from_folder(root, *, on_conflict: str = "error") -> Catalog:
    """One sub-folder per label (GTZAN layout): ``root/<label>/**/<file>``.

    When ``root/splits/{train,valid,test}.txt`` exist they assign splits automatically. One
    file under two labels (a link, say) is a conflict (see :func:`dedupe`).
    """
    root = Path(root)
    if not root.is_dir():
        raise ParameterError(f"{root}: not a folder")
    tracks = []
    missing = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "splits"):
        found, bad = _walk_audio(d)
        tracks += [Track(f, d.name) for f in found]
        missing += bad
    if not tracks:
        raise ParameterError(f"{root}: no audio files in label sub-folders "
                             "(expected <root>/<genre>/<file>)")
    notes: list = []
    tracks = dedupe(tracks, [str(t.path) for t in tracks], notes, on_conflict)
    cat = Catalog(tracks, root, missing, notes)
    split_dir = root / "splits"
    lists = {s: split_dir / f"{s}.txt" for s in ("train", "valid", "test")}
    lists = {s: p for s, p in lists.items() if p.exists()}
    return apply_split_lists(cat, lists) if lists else cat


def from_csv(csv_path, *, audio_dir=None, path_col: str | None = None,
             label_col: str | None = None, group_col: str | None = None,
             split_col: str | None = None, on_conflict: str = "error") -> Catalog:
    """A CSV with a file column and a label column (e.g. Zalo's ``Id,Genre``).

    Columns are found by name (case-insensitive) unless given. Files are resolved against
    ``audio_dir`` (default: the CSV's folder); entries whose file is missing are reported in
    ``Catalog.missing``. A file listed twice (by any path that resolves to it) is merged
    when the rows agree and a conflict when they do not (see :func:`dedupe`).
    """
    from ..userfiles import read_csv

    csv_path = Path(csv_path)
    table = read_csv(csv_path, what="catalog CSV")  # encoding, field size, repeated rows
    root = Path(audio_dir) if audio_dir else csv_path.parent
    cols = table.columns
    pcol = pick_column(cols, path_col, PATH_COLUMNS, "path", csv_path, required=True)
    lcol = pick_column(cols, label_col, LABEL_COLUMNS, "label", csv_path, required=False)
    gcol = pick_column(cols, group_col, GROUP_COLUMNS, "group", csv_path, required=False)
    scol = pick_column(cols, split_col, ("split",), "split", csv_path, required=False)
    tracks, where, missing, notes = [], [], [], list(table.notes)
    for r in table.rows:
        row, i = r.values, r.line
        entry = (row.get(pcol) or "").strip()
        if not entry:
            missing.append((f"{csv_path}:{i}", "empty file name"))
            continue
        if r.count > 1:
            notes.append((entry, f"the same row {r.count} times ({csv_path.name} line {i} "
                                 "first); merged"))
        p = Path(entry)
        p = p if p.is_absolute() else root / p
        if not p.exists():
            found = _find_with_extension(p)
            if found is None:
                missing.append((entry, f"file not found under {root}"))
                continue
            p = found
        label = (row.get(lcol) or "").strip() or None if lcol else None
        group = (row.get(gcol) or "").strip() or None if gcol else None
        split = (row.get(scol) or "").strip() or None if scol else None
        tracks.append(Track(p, label, group, split))
        where.append(f"{csv_path.name} row {i}")
    return Catalog(dedupe(tracks, where, notes, on_conflict), root, missing, notes)


ON_CONFLICT = ("error", "first", "drop")


def dedupe(tracks: list[Track], where: list[str], notes: list, on_conflict: str = "error"
           ) -> list[Track]:
    """One track per file (paths resolved: relative, absolute and linked names of one file
    are one file; it would otherwise sit in two splits). Rows that agree (label, group,
    split) are merged with a note. Rows that disagree are a conflict: ``error`` (default) is
    a ``ParameterError`` naming both rows; ``first`` keeps the first row, ``drop`` drops the
    file, each with a note. ``where``: each track's row, for the messages."""
    if on_conflict not in ON_CONFLICT:
        raise ParameterError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got "
                             f"{on_conflict!r}")
    rows: dict[str, list[int]] = {}
    for i, t in enumerate(tracks):
        rows.setdefault(os.path.realpath(t.path), []).append(i)
    keep = []
    for idx in rows.values():
        first = tracks[idx[0]]
        if len(idx) == 1:
            keep.append(idx[0])
            continue
        fields = lambda t: (t.label, t.group, t.split)  # noqa: E731
        other = next((j for j in idx[1:] if fields(tracks[j]) != fields(first)), None)
        if other is None:
            rows_ = ", ".join(where[j] for j in idx)
            notes.append((str(first.path), f"listed {len(idx)} times ({rows_}); merged"))
            keep.append(idx[0])
            continue
        a, b = tracks[idx[0]], tracks[other]
        what = (f"{where[idx[0]]} says {_desc(a)}, {where[other]} says {_desc(b)}")
        if on_conflict == "error":
            raise ParameterError(f"{first.path}: conflicting rows for one file: {what}; fix "
                                 "the catalog, or pass --on-conflict first|drop")
        if on_conflict == "first":
            notes.append((str(first.path), f"conflicting rows ({what}); the first is used"))
            keep.append(idx[0])
        else:
            notes.append((str(first.path), f"conflicting rows ({what}); the file is left out"))
    return [tracks[i] for i in sorted(keep)]


def _desc(t: Track) -> str:
    parts = [f"label {t.label!r}"]
    parts += [f"group {t.group!r}"] if t.group else []
    parts += [f"split {t.split!r}"] if t.split else []
    return ", ".join(parts)


def load_catalog(data, *, audio_dir=None, on_conflict: str = "error",
                 **csv_kwargs) -> Catalog:
    """A folder per genre, a CSV, or a folder holding ``index.csv``/``labels.csv``;
    ``on_conflict``: what one file with two different rows is (see :func:`dedupe`)."""
    data = Path(data)
    if data.is_file() and data.suffix.lower() in (".csv", ".tsv"):
        return from_csv(data, audio_dir=audio_dir, on_conflict=on_conflict, **csv_kwargs)
    if data.is_dir():
        return from_folder(data, on_conflict=on_conflict)
    if not data.exists():
        raise ParameterError(f"{data}: no such file or folder")
    if why := not_a_regular_file(data):
        raise ParameterError(f"{data}: {why}")
    raise ParameterError(f"{data}: expected a folder per genre or a CSV of file,label")


def read_split_list(path) -> list[str]:
    """Relative paths, one a line; blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"{path}: split list not found")
    if why := not_a_regular_file(path):
        raise ParameterError(f"{path}: {why}")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def apply_split_lists(cat: Catalog, lists: dict) -> Catalog:
    """Assign ``split`` from split lists (``{"train": path, ...}``); listed entries absent
    from the catalog go to ``missing``. Tracks in no list keep ``split=None``."""
    by_rel = {cat.relpath(t): t for t in cat.tracks}
    by_name = Counter(t.path.name for t in cat.tracks)
    names = {t.path.name: t for t in cat.tracks if by_name[t.path.name] == 1}
    assigned: dict[Path, str] = {}
    missing = list(cat.missing)
    for split, lp in lists.items():
        for entry in read_split_list(lp):
            t = by_rel.get(entry) or names.get(Path(entry).name)
            if t is None:
                missing.append((entry, f"listed in {Path(lp).name} but not in the catalog"))
            elif t.path in assigned and assigned[t.path] != split:
                raise ParameterError(f"{entry} is in both {assigned[t.path]} and {split} lists")
            else:
                assigned[t.path] = split
    tracks = [replace(t, split=assigned.get(t.path)) for t in cat.tracks]
    return Catalog(tracks, cat.root, missing, cat.notes)


def pick_column(cols, given, candidates, what, csv_path, *, required):
    lower = {c.lower().strip(): c for c in cols}
    if given:
        if given in cols:
            return given
        if given.lower() in lower:
            return lower[given.lower()]
        raise ParameterError(f"{csv_path}: no {what} column {given!r} (columns: {', '.join(cols)})")
    for c in candidates:
        if c in lower:
            return lower[c]
    if required:
        raise ParameterError(f"{csv_path}: no {what} column found (columns: {', '.join(cols)}); "
                             f"name it with --{what}-col")
    return None


def _find_with_extension(p: Path) -> Path | None:
    """Zalo-style ids may omit the extension: find ``<id>.*`` that is audio."""
    if p.suffix and p.suffix.lower() != ".":
        if is_audio_path(p):
            return None
    if not p.parent.is_dir():
        return None
    hits = [q for q in p.parent.glob(p.name + ".*") if is_audio_path(q)]
    return hits[0] if len(hits) == 1 else None
