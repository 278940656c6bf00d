"""A JSON-lines journal of tag writes: every write is recorded *before* it happens
(``planned``, with the file's content hash and the old values) and confirmed after
(``done``, with the new hash). Undo restores the old values; a rerun after a kill skips
what is done and finishes what was only planned."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


class Journal:
    def __init__(self, path):
        self.path = Path(path)

    def append(self, **entry) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry.setdefault("time", time.time())
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line cut by a kill: ignore it
                continue
        return out

    def state(self) -> dict[str, dict]:
        """The last word on each file: ``{path: {"status": planned|done|undone, ...}}``."""
        last: dict[str, dict] = {}
        for e in self.entries():
            if e.get("status") == "planned":
                last[e["file"]] = dict(e)
            elif e.get("status") in ("done", "undone") and e["file"] in last:
                last[e["file"]].update(e)
        return last
