"""What a model knows about its own training songs, applied with numpy at prediction: a
novelty score per song, the abstention rule that turns a song into ``unknown``, and
conformal prediction sets.

Everything here reads a plain-data ``open_set`` dict (fitted by
``genrekit.training.open_set``, stored in the checkpoint and in the ONNX metadata), so it
runs in the base install, without torch.

Novelty of a song (higher = less like anything the model was trained on) is computed from
the song's mean slice embedding (the ``penultimate`` vector the song head reads):

- each *component* gives a raw score: ``rmaha`` (relative Mahalanobis: the distance to the
  nearest class mean under the shared within-class covariance, minus the distance to the
  training songs' overall mean under their total covariance; both covariances shrunk toward
  a multiple of the identity, Ren et al. 2021) or ``knn`` (cosine distance to the k-th
  nearest training song, embeddings standardised);
- the components are put on one scale (each standardised by its mean/std over the
  training songs) and summed;
- the sum is reported as a percentile of the same score on held-out songs of the known
  genres (out-of-fold during fitting): ``novelty = 0.97`` means "more unusual than 97 % of
  songs of the genres I know". So ``novelty_threshold = 0.95`` keeps about 95 % of
  known-genre songs, by construction, on any taxonomy.

A song is labelled ``unknown`` when its novelty is above ``novelty_threshold`` or its top
probability is below ``min_confidence``; the closest genre is still given.

A prediction set at ``level`` (e.g. 0.9) is the split-conformal set of genres that holds
the true one with that probability: scores ``1 - p(true genre)`` of held-out songs are the
calibration; class-conditional (Mondrian) for a class with ``MIN_CLASS_CALIBRATION``
held-out songs or more, else the quantile over all of them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

UNKNOWN = "unknown"
FORMAT_VERSION = 1
#: a class needs this many calibration songs for its own conformal quantile. Measured
#: (benchmarks/novelty_cv.py, nested 5-fold x 3 seeds, GTZAN copy): per-class quantiles from
#: 10-70 songs a class under-covered and inflated the sets (at 0.9: coverage 0.872, mean
#: size 2.54; with >= 20 songs: 0.862, 1.59) where one quantile over all held-out songs
#: held its level (0.888, size 1.61); so only a class with many songs gets its own
MIN_CLASS_CALIBRATION = 100


def pack(a) -> dict:
    """A float/int array as JSON-able plain data (base64 of little-endian bytes)."""
    a = np.ascontiguousarray(a)
    dtype = "<f4" if a.dtype.kind == "f" else "<i4"
    return {"dtype": dtype, "shape": list(a.shape),
            "data": base64.b64encode(a.astype(dtype).tobytes()).decode("ascii")}


def unpack(d: dict) -> np.ndarray:
    if not isinstance(d, dict) or d.get("dtype") not in ("<f4", "<i4"):
        raise ValueError("not a packed array")
    a = np.frombuffer(base64.b64decode(d["data"]), dtype=d["dtype"])
    return a.reshape(d["shape"]).astype(np.float64 if d["dtype"] == "<f4" else np.int64)


# --- components: raw scores of song embeddings [S, D] -> [S] ------------------------------
def rmaha_score(c: dict, Z: np.ndarray) -> np.ndarray:
    """Distance to the nearest class mean under the shared precision, minus (relative, the
    default) the distance to the training songs' mean under their total precision."""
    X = (Z - c["shift"]) / c["scale"]
    d = np.stack([(((X - m) @ c["precision"]) * (X - m)).sum(1) for m in c["means"]], 1)
    if not c.get("relative", True):
        return d.min(1)
    X0 = X - c["bg_mean"]
    return d.min(1) - ((X0 @ c["bg_precision"]) * X0).sum(1)


def knn_score(c: dict, Z: np.ndarray, *, exclude_self: bool = False) -> np.ndarray:
    X = unit((Z - c["shift"]) / c["scale"])
    k = min(int(c["k"]) + int(exclude_self), len(c["bank"]))
    sim = X @ c["bank"].T
    return 1.0 - np.partition(sim, -k, axis=1)[:, -k]


def unit(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


COMPONENTS = {"rmaha": rmaha_score, "knn": knn_score}


def component_score(c: dict, Z: np.ndarray, *, exclude_self: bool = False) -> np.ndarray:
    """One fitted component's raw score of ``Z`` (``exclude_self``: Z are its own training
    songs, so kNN skips each song's own entry)."""
    kw = {"exclude_self": exclude_self} if c["kind"] == "knn" else {}
    return COMPONENTS[c["kind"]](c, Z, **kw)


def raw_novelty(components: list[dict], Z, *, exclude_self: bool = False) -> np.ndarray:
    """The combined score of song embeddings ``Z [S, D]``: the sum of the components' raw
    scores, each standardised by its mean/std over the training songs."""
    Z = np.atleast_2d(np.asarray(Z, np.float64))
    total = np.zeros(len(Z))
    for c in components:
        total += (component_score(c, Z, exclude_self=exclude_self) - c["z_mean"]) / c["z_std"]
    return total


@dataclass
class OpenSet:
    """A fitted open-set model (see the module docstring). Build with :meth:`from_dict`."""

    components: list[dict]
    reference: np.ndarray  # sorted combined scores of held-out known-genre songs
    novelty_threshold: float
    min_confidence: float
    cal_scores: np.ndarray  # conformal calibration: 1 - p(true) of held-out songs
    cal_labels: np.ndarray
    num_classes: int
    bank_labels: np.ndarray | None = None  # the training songs' labels (explanations)
    bank_names: list[str] | None = None

    # --- plain data ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict) -> OpenSet:
        """From the plain data of a checkpoint or ONNX file; ``ValueError`` if malformed."""
        if not isinstance(d, dict) or d.get("format_version") != FORMAT_VERSION:
            raise ValueError("not a genrekit open-set model of a known version")
        comps = []
        for c in d["components"]:
            if c.get("kind") not in COMPONENTS:
                raise ValueError(f"unknown novelty component {c.get('kind')!r}")
            comps.append({k: unpack(v) if isinstance(v, dict) else v for k, v in c.items()})
        bank = d.get("bank") or {}
        return cls(components=comps, reference=np.sort(unpack(d["reference"])),
                   novelty_threshold=float(d["novelty_threshold"]),
                   min_confidence=float(d["min_confidence"]),
                   cal_scores=unpack(d["conformal"]["scores"]),
                   cal_labels=unpack(d["conformal"]["labels"]),
                   num_classes=int(d["num_classes"]),
                   bank_labels=unpack(bank["labels"]) if "labels" in bank else None,
                   bank_names=list(bank["names"]) if "names" in bank else None)

    def to_dict(self) -> dict:
        comps = [{k: pack(v) if isinstance(v, np.ndarray) else v for k, v in c.items()}
                 for c in self.components]
        d = {"format_version": FORMAT_VERSION, "components": comps,
             "reference": pack(self.reference),
             "novelty_threshold": float(self.novelty_threshold),
             "min_confidence": float(self.min_confidence),
             "conformal": {"scores": pack(self.cal_scores), "labels": pack(self.cal_labels)},
             "num_classes": int(self.num_classes)}
        if self.bank_labels is not None:
            d["bank"] = {"labels": pack(self.bank_labels), "names": list(self.bank_names or [])}
        return d

    # --- novelty ------------------------------------------------------------------------
    def raw_novelty(self, Z: np.ndarray, *, exclude_self: bool = False) -> np.ndarray:
        """:func:`raw_novelty` of this model's components."""
        return raw_novelty(self.components, Z, exclude_self=exclude_self)

    def novelty(self, Z: np.ndarray) -> np.ndarray:
        """Novelty in [0, 1] of song embeddings ``Z [S, D]``: the fraction of held-out
        known-genre songs that were less novel (ties count half)."""
        raw = self.raw_novelty(Z)
        ref = self.reference
        lo = np.searchsorted(ref, raw, side="left")
        hi = np.searchsorted(ref, raw, side="right")
        return (lo + hi) / (2.0 * len(ref))

    def neighbours(self, z: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` training songs most like song embedding ``z``: ``(bank index, cosine)``
        in the kNN component's space (standardised by the training songs), most similar
        first. Empty when the model keeps no bank."""
        knn = next((c for c in self.components if c["kind"] == "knn"), None)
        if knn is None:
            return []
        x = unit(((np.asarray(z, np.float64) - knn["shift"]) / knn["scale"])[None])[0]
        sim = knn["bank"] @ x
        top = np.argsort(-sim, kind="stable")[:k]
        return [(int(i), float(sim[i])) for i in top]

    # --- decisions ----------------------------------------------------------------------
    def abstains(self, novelty: float, confidence: float, *,
                 novelty_threshold: float | None = None,
                 min_confidence: float | None = None) -> bool:
        nt = self.novelty_threshold if novelty_threshold is None else novelty_threshold
        mc = self.min_confidence if min_confidence is None else min_confidence
        return bool(novelty > nt or confidence < mc)

    def prediction_set(self, probs: np.ndarray, level: float) -> list[int]:
        """Indices of the genres in the conformal set at ``level`` (highest first)."""
        probs = np.asarray(probs, np.float64)
        q = self.quantiles(level)
        keep = [k for k in np.argsort(-probs) if 1.0 - probs[k] <= q[k]]
        return keep or [int(probs.argmax())]

    def quantiles(self, level: float) -> np.ndarray:
        """Per class, the conformal threshold on ``1 - p`` at ``level``."""
        check_level(level)
        return conformal_quantiles(self.cal_scores, self.cal_labels, self.num_classes, level)


def conformal_quantiles(scores, labels, num_classes: int, level: float,
                        min_class: int = MIN_CLASS_CALIBRATION) -> np.ndarray:
    """Split-conformal thresholds: per class the ``ceil((n+1) level)``-th smallest
    calibration score of that class where it has ``min_class`` songs or more (and enough
    for the level), else the same over all calibration songs. ``inf`` where too few."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)

    def q(s):
        n = len(s)
        r = int(np.ceil((n + 1) * level))
        return np.inf if r > n or n == 0 else float(np.sort(s)[r - 1])

    marginal = q(scores)
    out = np.full(num_classes, marginal)
    for k in range(num_classes):
        s = scores[labels == k]
        if len(s) >= min_class and np.isfinite(qk := q(s)):
            out[k] = qk
    return out


def check_level(level: float, name: str = "set level") -> float:
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ParameterError(f"{name} must be in (0, 1), e.g. 0.9; got {level!r}")
    return float(level)


def check_threshold(value: float, name: str, *, low_open: bool) -> float:
    """``novelty_threshold`` in (0, 1] (1: never unknown by novelty), ``min_confidence`` in
    [0, 1) (0: never unknown by confidence)."""
    ok = (0 < value <= 1) if low_open else (0 <= value < 1)
    if not isinstance(value, (int, float)) or not ok:
        rng = "(0, 1]" if low_open else "[0, 1)"
        raise ParameterError(f"{name} must be in {rng}, got {value!r}")
    return float(value)


def read_open_set(meta: dict):
    """The model's ``OpenSet``, or ``(None, why)`` when it has none or it is unreadable."""
    d = meta.get("open_set")
    if not d:
        return None, ("this model has no novelty model (trained before genrekit had them: "
                      "fine-tune or retrain it to get one)")
    try:
        return OpenSet.from_dict(d), None
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"its novelty model is unreadable ({exc})"
