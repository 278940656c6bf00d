"""Timeline pictures: per-slice genre probabilities of one or more songs."""

from __future__ import annotations

from pathlib import Path


def plot_timelines(predictions, path, *, classes: list[str] | None = None) -> Path:
    """One panel per song: stacked per-slice probabilities over time, the song label on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    preds = [p for p in predictions if p is not None and p.timeline]
    if not preds:
        from ..errors import ParameterError

        raise ParameterError("no predictions with a timeline to plot")
    classes = classes or list(preds[0].scores)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    colors = {c: cmap(i % cmap.N) for i, c in enumerate(classes)}
    fig, axes = plt.subplots(len(preds), 1, figsize=(10, 1.9 * len(preds) + 0.8),
                             squeeze=False)
    for ax, p in zip(axes[:, 0], preds, strict=True):
        # each slice is drawn at its centre; the first and last hold to the song's edges
        mids = [0.0] + [(s.start + s.end) / 2 for s in p.timeline] + [p.duration]
        P = np.array([[s.scores[c] for c in classes] for s in p.timeline])
        P = np.concatenate([P[:1], P, P[-1:]])
        ax.stackplot(mids, P.T, colors=[colors[c] for c in classes], alpha=0.9)
        ax.set_xlim(0, p.duration)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability")
        name = Path(p.path).name if p.path else "audio"
        head = (f"unknown (closest {p.closest} {p.score:.2f}, novelty {p.novelty:.2f})"
                if p.unknown and p.novelty is not None else
                f"unknown (closest {p.closest} {p.score:.2f})" if p.unknown else
                f"{p.label} ({p.score:.2f})")
        ax.set_title(f"{name}: {head}", fontsize=10, loc="left")
    axes[-1, 0].set_xlabel("time (s)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[c]) for c in classes]
    fig.legend(handles, classes, loc="upper center", ncol=min(len(classes), 10), fontsize=8,
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (1.9 * len(preds) + 0.8)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
