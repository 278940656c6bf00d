"""Feature images: labelled panels (axes, colour bars) or plain grayscale pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DB_RANGE = (-100.0, 60.0)  # fixed scale for grayscale export: same dB -> same grey in every file


def plot_features(X: np.ndarray, spec, path, *, title: str | None = None,
                  mode: str = "color") -> Path:
    """Write ``X [C, F, T]`` as a PNG.

    mode ``"color"``: one panel per channel with time (s) and frequency axes and a colour
    bar. mode ``"grayscale"``: the channels stacked vertically as a plain 8-bit image (low
    frequencies at the bottom), dB channels mapped from the fixed range -100..60 dB, others
    from their own min..max.
    """
    from ..errors import ParameterError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "grayscale":
        return _grayscale(X, spec, path)
    if mode != "color":
        raise ParameterError(f"png mode must be 'color' or 'grayscale', got {mode!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    C, F, T = X.shape
    names = spec.channel_names
    seconds = T * spec.hop_length / spec.sr
    fig, axes = plt.subplots(C, 1, figsize=(10, 2.6 * C + 0.6), squeeze=False)
    for c, ax in enumerate(axes[:, 0]):
        im = ax.imshow(X[c], origin="lower", aspect="auto", cmap="magma",
                       extent=(0, seconds, 0, F), interpolation="nearest")
        ax.set_title(names[c], fontsize=10)
        ax.set_ylabel(_freq_label(spec))
        unit = "dB" if names[c].endswith("_db") else ""
        fig.colorbar(im, ax=ax, label=unit, pad=0.01)
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _freq_label(spec) -> str:
    name = spec.names[0]
    return {"stft": "frequency bin", "mel": "mel band", "hpss": "mel band", "mfcc": "coefficient",
            "cqt": "CQT bin (semitone)", "chroma_stft": "pitch class",
            "chroma_cqt": "pitch class"}.get(name, "bin")


def _grayscale(X, spec, path):
    import matplotlib.image as mpimg

    rows = []
    for c, name in enumerate(spec.channel_names):
        ch = X[c].astype(np.float32)
        lo, hi = DB_RANGE if name.endswith("_db") else (float(ch.min()), float(ch.max()))
        rows.append(np.clip((ch - lo) / max(hi - lo, 1e-9), 0, 1)[::-1])
    img = (np.concatenate(rows, axis=0) * 255).astype(np.uint8)
    mpimg.imsave(path, img, cmap="gray", vmin=0, vmax=255)
    return path
