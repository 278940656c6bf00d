"""One CSV reader for every user CSV (catalogs, labels, audit and suggest input).

- Encoding: UTF-8, with or without a BOM. A file that is not UTF-8 is read as cp1252 (what
  Excel on Windows saves as "CSV (Comma delimited)"), with a note saying so; a byte that is
  neither is one error naming the file and the line.
- Delimiter: ``,`` unless the header line is clearly separated by ``;``, tab or ``|``.
- Field size: a field over the csv module's limit (128 KiB unless a program raised it: a
  binary file, a broken quote that swallows the rest of the file) is one error naming the
  line.
- Memory: rows are kept once each (the first line it was on, and how many times it came):
  a 50 MB file of one repeated row holds one row.

Errors are :class:`~genrekit.errors.ParameterError` of one line naming the file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ParameterError

FALLBACK = "cp1252"


@dataclass
class CsvRow:
    line: int  # the (first) line the row starts on, 1-based; the header is line 1
    values: dict[str, str]
    count: int = 1  # how many times the same row came


@dataclass
class CsvTable:
    path: Path
    columns: list[str]
    rows: list[CsvRow]
    delimiter: str = ","
    encoding: str = "utf-8"
    notes: list[tuple[str, str]] = field(default_factory=list)  # (entry, note)


def read_csv(path, *, what: str = "CSV") -> CsvTable:
    """The distinct rows of the CSV file ``path`` (header first), in file order."""
    from ..fileio import not_a_regular_file

    path = Path(path)
    if not path.exists():
        raise ParameterError(f"{path}: {what} not found")
    if why := not_a_regular_file(path):
        raise ParameterError(f"{path}: {why}")
    try:
        return _read(path, "utf-8-sig", what)
    except UnicodeDecodeError:
        line = _first_bad_line(path)
    except OSError as exc:
        raise ParameterError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        table = _read(path, FALLBACK, what)
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: line {line}: neither UTF-8 nor {FALLBACK} text; save "
                             f"the {what} as UTF-8 (Excel: 'CSV UTF-8')") from None
    table.notes.append((str(path), f"not UTF-8 (line {line}); read as {FALLBACK}, Excel's "
                                   "Windows encoding"))
    return table


def _read(path: Path, encoding: str, what: str) -> CsvTable:
    seen: dict[tuple, CsvRow] = {}
    with open(path, newline="", encoding=encoding) as f:
        delimiter = _sniff_delimiter(f)
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next(reader, None)
            columns = [c.strip() for c in header] if header else []
            line = reader.line_num + 1
            for cells in reader:
                if any(c.strip() for c in cells):
                    key = tuple(cells)
                    row = seen.get(key)
                    if row is None:
                        seen[key] = CsvRow(line, dict(zip(columns, cells, strict=False)))
                    else:
                        row.count += 1
                line = reader.line_num + 1
        except csv.Error as exc:
            if "field larger" in str(exc):
                raise ParameterError(f"{path}: line {reader.line_num}: a field over "
                                     f"{csv.field_size_limit():,} characters; is this a "
                                     f"{what}?") from None
            raise ParameterError(f"{path}: line {reader.line_num}: not a readable {what} "
                                 f"({exc})") from None
    return CsvTable(path, columns, list(seen.values()), delimiter, encoding.split("-sig")[0])


def _sniff_delimiter(f) -> str:
    header = f.readline()
    f.seek(0)
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


def _first_bad_line(path: Path) -> int:
    with open(path, "rb") as f:
        for i, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return i
    return 1
