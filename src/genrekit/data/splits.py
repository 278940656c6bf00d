"""Song- and group-level splits: one song (and one artist, when known) never spans splits."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

import numpy as np

from ..errors import ParameterError
from .manifest import Catalog


def split_catalog(cat: Catalog, *, valid_fraction: float = 0.2, seed: int = 0) -> Catalog:
    """Assign ``train``/``valid`` per group (``Track.group``, else per song), stratified by
    label (each label's groups are shuffled and ~``valid_fraction`` of them go to valid),
    deterministic for a given ``seed``. Tracks that already have a split keep it."""
    if not 0 < valid_fraction < 1:
        raise ParameterError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    todo = [t for t in cat.tracks if t.split is None]
    groups: dict[str, list] = defaultdict(list)
    for t in todo:
        groups[t.group or t.song_id].append(t)
    by_label: dict[str, list[str]] = defaultdict(list)
    for g, ts in sorted(groups.items()):
        label = Counter(t.label for t in ts).most_common(1)[0][0]
        by_label[str(label)].append(g)
    rng = np.random.default_rng(seed)
    valid_groups = set()
    for label in sorted(by_label):
        gs = by_label[label]
        order = rng.permutation(len(gs))
        n_valid = int(round(len(gs) * valid_fraction))
        if len(gs) >= 2:
            n_valid = min(max(n_valid, 1), len(gs) - 1)
        else:
            n_valid = 0
        valid_groups.update(gs[i] for i in order[:n_valid])
    tracks = [t if t.split is not None else
              replace(t, split="valid" if (t.group or t.song_id) in valid_groups else "train")
              for t in cat.tracks]
    return Catalog(tracks, cat.root, cat.missing, cat.notes)
