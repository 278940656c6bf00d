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
