"""Temperature scaling (Guo et al. 2017): one scalar T fitted on validation slices so that
``softmax(logits / T)`` are honest probabilities; and the expected calibration error."""

from __future__ import annotations

import numpy as np


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, *, bounds=(0.05, 20.0)) -> float:
    """The T in ``bounds`` minimising the mean NLL of ``softmax(logits / T)``.

    ``logits`` may be log-probabilities (``log softmax`` differs from the logits by a
    per-row constant, which the softmax ignores)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels, np.int64)
    idx = np.arange(len(labels))

    def nll(log_t):
        return -_log_softmax(logits / np.exp(log_t))[idx, labels].mean()

    res = minimize_scalar(nll, bounds=np.log(bounds), method="bounded")
    return float(np.exp(res.x))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, *, bins: int = 15):
    """ECE: the confidence-weighted gap between confidence and accuracy over ``bins``."""
    probs = np.asarray(probs)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(ece)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / T)``: re-temper probabilities already computed."""
    z = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    return np.exp(_log_softmax(z))


def calibrate(ckpt: dict, source, songs) -> tuple[dict, dict]:
    """Temperature scaling of a loaded checkpoint on labelled ``songs`` (a ``SongSet`` of
    validation songs, never training ones).

    Returns ``(calibrated checkpoint, report)``: a copy with the fitted ``temperature`` and
    the report in ``metrics["calibration"]`` (temperature, songs, ECE per slice and per song
    before and after).
    """
    from ..errors import ParameterError
    from ..inference.aggregate import aggregate
    from .evaluate import checkpoint_song_scores

    if not len(songs):
        raise ParameterError("no labelled songs to calibrate on")
    rule = ckpt["slices"].get("aggregate", "confidence")
    t0 = float(ckpt.get("temperature", 1.0))
    _, slice_probs = checkpoint_song_scores(ckpt, source, songs, rule=rule,
                                            temperature=1.0)  # the model's own probabilities
    P = np.concatenate(slice_probs)
    y = np.concatenate([np.full(len(p), lab) for p, lab in zip(slice_probs, songs.labels,
                                                               strict=True)])
    T = fit_temperature(np.log(np.clip(P, 1e-12, 1)), y)

    def song_ece(temp):
        scores = np.stack([aggregate(apply_temperature(p, temp), rule) for p in slice_probs])
        return expected_calibration_error(scores, songs.labels)

    before = (expected_calibration_error(apply_temperature(P, t0), y), song_ece(t0))
    after = (expected_calibration_error(apply_temperature(P, T), y), song_ece(T))
    report = {"temperature": T, "songs": len(songs), "slices": len(P),
              "slice_ece_before": before[0], "slice_ece_after": after[0],
              "song_ece_before": before[1], "song_ece_after": after[1]}
    out = {k: v for k, v in ckpt.items() if k not in ("format", "format_version")}
    out["temperature"] = T
    out["metrics"] = {**ckpt.get("metrics", {}),
                      "calibration": {k: v for k, v in report.items() if k != "slices"}}
    return out, report
