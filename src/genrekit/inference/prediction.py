"""What a prediction is: one song label, its scores, top-k and the per-slice timeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class Segment:
    start: float  # seconds
    end: float
    label: str
    scores: dict[str, float]


@dataclass
class Prediction:
    """One song's result: ``label``, ``scores`` (class -> probability, sum 1), ``top_k``
    [(label, score)], ``timeline`` (one Segment per slice) and how it was aggregated."""

    label: str
    scores: dict[str, float]
    top_k: list[tuple[str, float]]
    timeline: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    aggregate: str = "confidence"
    path: str | None = None

    @property
    def score(self) -> float:
        return self.scores[self.label]

    def to_dict(self, timeline: bool = True) -> dict:
        d = {"file": self.path, "label": self.label, "score": round(self.score, 6),
             "top_k": [{"label": lbl, "score": round(s, 6)} for lbl, s in self.top_k],
             "scores": {k: round(v, 6) for k, v in self.scores.items()},
             "duration": round(self.duration, 3), "aggregate": self.aggregate}
        if timeline:
            d["timeline"] = [{**asdict(s), "scores": {k: round(v, 6) for k, v in
                                                       s.scores.items()}}
                             for s in self.timeline]
        return d


def make_prediction(song: np.ndarray, classes: list[str], *, top_k: int,
                    timeline: list[Segment], duration: float, rule: str,
                    path=None) -> Prediction:
    """A Prediction from song scores ``[K]`` in the order of ``classes``."""
    order = np.argsort(-song)[: max(1, top_k)]
    return Prediction(label=classes[int(song.argmax())],
                      scores={c: float(v) for c, v in zip(classes, song, strict=True)},
                      top_k=[(classes[i], float(song[i])) for i in order],
                      timeline=timeline, duration=duration, aggregate=rule,
                      path=None if path is None else str(path))


def slice_timeline(P: np.ndarray, starts, classes: list[str], *, width: int, fps: float,
                   duration: float) -> list[Segment]:
    """One Segment per grid slice (probabilities ``P [N, K]``, start frames ``starts``)."""
    return [Segment(round(s / fps, 3), round(min((s + width) / fps, duration), 3),
                    classes[int(p.argmax())],
                    {c: float(v) for c, v in zip(classes, p, strict=True)})
            for s, p in zip(starts, P, strict=True)]
