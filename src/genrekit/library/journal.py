"""A JSON-lines journal of tag writes: every write is recorded *before* it happens
(``planned``, with the file's content hash and the old values) and confirmed after
(``done``, with the new hash). Undo restores the old values; a rerun after a kill skips
what is done and finishes what was only planned."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

STATUSES = ("planned", "done", "undone")


class Journal:
    """Files are recorded by absolute path, so ``--undo`` works from any folder. Lines that
    are not genrekit entries (cut by a kill, or edited by hand) are skipped and listed in
    ``bad_lines`` (line number, why)."""

    def __init__(self, path):
        self.path = Path(path)
        self.bad_lines: list[tuple[int, str]] = []

    def append(self, **entry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry["file"] = os.path.abspath(entry["file"])
        entry.setdefault("time", time.time())
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        from ..fileio import not_a_regular_file

        if why := not_a_regular_file(self.path):
            from ..errors import ParameterError

            raise ParameterError(f"{self.path}: {why}")
        out, self.bad_lines = [], []
        text = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        for n, line in enumerate(text, start=1):
            try:
                e = json.loads(line)
            except ValueError:  # a line cut by a kill, or not JSON
                self.bad_lines.append((n, "not a JSON object"))
                continue
            why = _invalid(e)
            if why:
                self.bad_lines.append((n, why))
            else:
                out.append(e)
        return out

    def state(self) -> dict[str, dict]:
        """The last word on each file: ``{path: {"status": planned|done|undone, ...}}``."""
        last: dict[str, dict] = {}
        for e in self.entries():
            if e["status"] == "planned":
                last[e["file"]] = dict(e)
            elif e.get("status") in ("done", "undone") and e["file"] in last:
                last[e["file"]].update(e)
        return last


def _invalid(e) -> str | None:
    """Why a parsed journal line is not an entry genrekit wrote, or None."""
    if not isinstance(e, dict):
        return f"a JSON {type(e).__name__}, not an entry"
    if not isinstance(e.get("file"), str) or not e["file"]:
        return "no file"
    if e.get("status") not in STATUSES:
        return f"unknown status {e.get('status')!r}"
    need = {"planned": ("hash_before", "old", "new"), "done": ("hash_after",),
            "undone": ()}[e["status"]]
    missing = [k for k in need if k not in e]
    if missing:
        return f"{e['status']} entry without {', '.join(missing)}"
    if e["status"] == "planned" and not (isinstance(e["old"], list)
                                         and isinstance(e["new"], list)):
        return "old/new values are not lists"
    return None
