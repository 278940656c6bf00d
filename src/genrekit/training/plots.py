"""Training curves and confusion-matrix pictures (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict], path) -> Path:
    """Loss (train, valid slice NLL), accuracy (song, slice) and macro-F1 per epoch."""
    plt = _plt()
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(ep, [h["train_loss"] for h in history], label="train")
    axes[0].plot(ep, [h["valid_slice_loss"] for h in history], label="valid (slices)")
    axes[0].set_title("loss")
    axes[1].plot(ep, [h["valid_accuracy"] for h in history], label="valid per song")
    axes[1].plot(ep, [h["valid_slice_accuracy"] for h in history], label="valid per slice")
    axes[1].set_title("accuracy")
    axes[2].plot(ep, [h["valid_macro_f1"] for h in history], label="valid per song")
    axes[2].set_title("macro-F1")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_confusion(cm, classes: list[str], path, *, title: str = "") -> Path:
    """Row-normalised confusion matrix with class names and counts."""
    plt = _plt()
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    K = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * K, 0.8 + 0.55 * K))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(K), classes, rotation=45, ha="right")
    ax.set_yticks(range(K), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(K):
        for j in range(K):
            if cm[i, j]:
                ax.text(j, i, f"{norm[i, j]:.2f}\n({int(cm[i, j])})", ha="center", va="center",
                        fontsize=7, color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_risk_coverage(rc: dict, path, *, title: str = "") -> Path:
    """Error rate of the most confident songs against the share of songs kept."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.plot(rc["coverage"], rc["risk"], lw=2, color="#3b5bdb")
    for c, acc in rc["accuracy_at"].items():
        ax.plot([float(c)], [1 - acc], "o", color="#1d2230")
        ax.annotate(f"{acc:.2f}", (float(c), 1 - acc), textcoords="offset points",
                    xytext=(-4, 6), ha="right", fontsize=8)
    ax.set_xlabel("coverage (share of songs kept, most confident first)")
    ax.set_ylabel("error rate of the kept songs")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, max(0.05, max(rc["risk"]) * 1.15))
    ax.grid(alpha=0.3)
    ax.set_title(title or f"risk-coverage (AURC {rc['aurc']:.3f}; labels: accuracy)", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
