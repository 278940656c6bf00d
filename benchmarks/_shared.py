"""Helpers for benchmarks: where the shared GTZAN copy is, and picking clips from it."""

from __future__ import annotations

import os
from pathlib import Path

GTZAN = Path(os.environ.get("GENREKIT_GTZAN",
                            Path(__file__).resolve().parents[1].parent / "shared/datasets/gtzan"))


def gtzan_clips(n: int | None = None, split: str | None = None) -> list[Path]:
    """First ``n`` clips of a split (or of the index), in a fixed spread over genres."""
    import csv

    if not GTZAN.exists():
        raise SystemExit(f"shared GTZAN copy not found at {GTZAN} (set GENREKIT_GTZAN)")
    rows = list(csv.DictReader(open(GTZAN / "index.csv")))
    rows = [r for r in rows if split is None or r["split"] == split]
    by_genre: dict[str, list] = {}
    for r in rows:
        by_genre.setdefault(r["genre"], []).append(GTZAN / r["path"])
    out = []
    while any(by_genre.values()) and (n is None or len(out) < n):
        for g in sorted(by_genre):
            if by_genre[g] and (n is None or len(out) < n):
                out.append(by_genre[g].pop(0))
    return out
