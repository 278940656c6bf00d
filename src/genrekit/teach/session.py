"""One teach session: a library's song embeddings, the labels so far (a ``LabelBook``), the
queue of songs to label next (``select``, refitted after each label), an estimate of the
accuracy the labels would give, and the most typical 15 s of each song to listen to."""

from __future__ import annotations

import threading

import numpy as np

from .labels import LabelBook
from .select import fit_head, head_proba, select, standardize

QUEUE = 3  # songs the page knows ahead (the next ones' audio is fetched early)
CLIP_SECONDS = 15.0


class TeachSession:
    def __init__(self, paths: list[str], Z: np.ndarray, book: LabelBook, *, seed: int = 0):
        import os

        self.paths = list(paths)
        self.Z = np.asarray(Z, np.float64)
        self.book = book
        self.seed = seed
        index = {os.path.realpath(p): i for i, p in enumerate(self.paths)}
        self.labels: list[str | None] = [None] * len(self.paths)
        for path, genre in book.labels.items():
            if path in index:
                self.labels[index[path]] = genre
        self.genres = list(dict.fromkeys(g for g in book.labels.values()))
        self.history: list[tuple[int, str | None]] = []  # (song, its genre before), for undo
        self.skipped: set[int] = set()
        self.estimates: list[tuple[int, float]] = []  # (labels, accuracy) after each label
        self.lock = threading.Lock()
        self.queue: list[int] = []
        self._rank()

    # --- actions (each returns the new state) -------------------------------------------
    def label(self, song: int, genre: str) -> dict:
        genre = " ".join(str(genre).split())
        if not genre:
            raise ValueError("an empty genre")
        with self.lock:
            before = self.book.set(self.paths[song], genre)  # written before anything else
            self.labels[song] = genre
            if genre not in self.genres:
                self.genres.append(genre)
            self.history.append((song, before))
            self._rank()
            self._estimate()
            return self.state()

    def undo(self) -> dict:
        with self.lock:
            if self.history:
                song, before = self.history.pop()
                self.book.restore(self.paths[song], before)
                self.labels[song] = before if before and before.strip() else None
                if self.estimates:
                    self.estimates.pop()
                self._rank(first=song)
            return self.state()

    def skip(self, song: int) -> dict:
        with self.lock:
            self.skipped.add(song)
            self._rank()
            return self.state()

    # --- what the page shows --------------------------------------------------------------
    def state(self) -> dict:
        counts = {g: 0 for g in self.genres}
        for g in self.labels:
            if g is not None:
                counts[g] = counts.get(g, 0) + 1
        est = self.estimates[-1][1] if self.estimates else None
        n = sum(g is not None for g in self.labels)
        return {"genres": self.genres, "counts": counts, "labelled": n,
                "songs": len(self.paths),
                "queue": [{"id": i, "name": _name(self.paths[i])} for i in self.queue],
                "estimate": None if est is None else {
                    "accuracy": est, **dict(zip(("low", "high"), wilson(est, n), strict=True)),
                    "stable": self.stable()},
                "can_undo": bool(self.history)}

    def stable(self, window: int = 10, tolerance: float = 0.03) -> bool:
        """The last ``window`` labels moved the estimate by less than ``tolerance``."""
        if len(self.estimates) < window + 1 or self.estimates[-1][0] < 20:
            return False
        recent = [a for _, a in self.estimates[-(window + 1):]]
        return max(recent) - min(recent) < tolerance

    # --- internals ------------------------------------------------------------------------
    def _rank(self, first: int | None = None) -> None:
        from ..features.parallel import one_blas_thread

        free = sum(g is None for i, g in enumerate(self.labels) if i not in self.skipped)
        with one_blas_thread():  # OpenBLAS's spinning workers: 3x slower here
            picks = select(self.Z, self.labels, min(QUEUE, free),
                           seed=self.seed + len(self.history), exclude=self.skipped)
        self.queue = ([first] if first is not None else []) + [p for p in picks if p != first]
        self.queue = self.queue[:QUEUE]

    def _estimate(self) -> None:
        lab = [i for i, g in enumerate(self.labels) if g is not None]
        y = np.array([self.labels[i] for i in lab])
        if len(set(y.tolist())) < 2 or len(lab) < 6:
            return
        X = standardize(self.Z)[lab]
        k = min(5, len(lab))
        fold = np.arange(len(lab)) % k
        np.random.default_rng(0).shuffle(fold)
        right = 0
        for f in range(k):
            tr, te = fold != f, fold == f
            if len(set(y[tr].tolist())) < 2:
                continue
            head = fit_head(X[tr], y[tr], C=0.01)
            right += int((head[0][head_proba(head, X[te]).argmax(1)] == y[te]).sum())
        self.estimates.append((len(lab), right / len(lab)))


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson interval of an accuracy ``p`` measured on ``n`` songs."""
    if n == 0:
        return 0.0, 1.0
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return float(max(0.0, c - h)), float(min(1.0, c + h))


def _name(path: str) -> str:
    from pathlib import Path

    return Path(path).name


def typical_clip(classifier, path: str, seconds: float = CLIP_SECONDS, sr: int = 22050):
    """``(mono float32 audio at sr, start s)``: the ``seconds`` of the song whose slices'
    mean embedding is closest to the whole song's (its most typical part)."""
    from ..audio import load_checked

    y = load_checked(path, sr)
    if len(y) <= seconds * sr:
        return y, 0.0
    X = classifier.features(path)
    _, starts, E = classifier.slice_outputs([X])
    if E is None or len(E[0]) < 2:
        return y[: int(seconds * sr)], 0.0
    E, st = E[0], np.asarray(starts[0])
    fps = classifier.spec.frames_per_second
    width = max(1, int(round(seconds * fps / max(classifier.width, 1))))
    song = E.mean(0)
    best, best_d = 0, np.inf
    for i in range(max(1, len(E) - width + 1)):
        d = np.linalg.norm(E[i:i + width].mean(0) - song)
        if d < best_d:
            best, best_d = i, d
    start = float(st[best] / fps)
    a = int(start * sr)
    return y[a:a + int(seconds * sr)], start
