"""A SQLite store of predictions: (path, content hash, model id) -> label, scores,
timeline, time. A rerun predicts only new or changed files."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    path TEXT NOT NULL, hash TEXT NOT NULL, model TEXT NOT NULL, label TEXT NOT NULL,
    score REAL NOT NULL, scores TEXT NOT NULL, timeline TEXT NOT NULL, time REAL NOT NULL,
    PRIMARY KEY (path, model))
"""


class PredictionStore:
    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path))
        self.db.execute(SCHEMA)
        self.db.commit()

    def get(self, path, digest: str, model: str) -> dict | None:
        row = self.db.execute("SELECT label, score, scores FROM predictions WHERE path=? AND "
                              "hash=? AND model=?", (str(path), digest, model)).fetchone()
        if row is None:
            return None
        return {"label": row[0], "score": row[1], "scores": json.loads(row[2])}

    def put(self, path, digest: str, model: str, pred) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (str(path), digest, model, pred.label, pred.score, json.dumps(pred.scores),
             json.dumps([[s.start, s.end, s.label] for s in pred.timeline]), time.time()))
        self.db.commit()

    def label_counts(self, model: str | None = None) -> dict[str, int]:
        q = "SELECT label, COUNT(*) FROM predictions"
        args: tuple = ()
        if model:
            q, args = q + " WHERE model=?", (model,)
        rows = self.db.execute(q + " GROUP BY label ORDER BY COUNT(*) DESC", args).fetchall()
        return {label: n for label, n in rows}

    def close(self):
        self.db.close()
