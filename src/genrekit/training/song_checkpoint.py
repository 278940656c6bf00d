"""A song head's whole checkpoint: the frozen backbone's embeddings of every training song,
the song head (``song_head``) and its open-set model (``open_set``) fitted on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def song_head_checkpoint(cfg, tracks, classes: list[str], *, cache_dir, jobs: int = 1,
                         progress=None) -> tuple[dict, list]:
    """Fit a song head on every one of ``tracks`` (no validation split: the final fit of a
    recipe chosen by cross-validation) and return ``(checkpoint, failures)``. ``cfg``: a
    frozen-backbone config whose ``train.head_c`` is the regularisation."""
    import torch

    from ..data.slices import slice_frames
    from ..models import create_model
    from .open_set import song_head_open_set
    from .probe import embed_songs
    from .run import make_checkpoint
    from .song_head import fit_song_head, install_head
    from .songs import load_songs

    spec = cfg.features
    songs, failures = load_songs(tracks, classes, spec, cache_dir, jobs=jobs)
    torch.manual_seed(cfg.train.seed)
    model = create_model(cfg.model.name, len(classes), spec.n_channels, **cfg.model.kwargs)
    width, hop = slice_frames(cfg.slices, spec)
    zeros, ones = np.zeros(spec.n_channels, np.float32), np.ones(spec.n_channels, np.float32)
    emb = embed_songs(model, songs, width=width, hop=hop, mean=torch.from_numpy(zeros),
                      std=torch.from_numpy(ones), device=torch.device("cpu"),
                      progress=progress)
    head = fit_song_head(emb, songs.labels, len(classes), C=cfg.train.head_c)
    install_head(model, head)
    group = {str(t.path): t.group or str(t.path) for t in tracks}
    open_set = song_head_open_set(emb, songs.labels, [group.get(p, p) for p in songs.paths],
                                  len(classes), C=cfg.train.head_c,
                                  names=[Path(p).name for p in songs.paths])
    metrics = {"fit": {"songs": len(songs), "head": "song", "C": cfg.train.head_c,
                       "per_class_songs": np.bincount(songs.labels,
                                                      minlength=len(classes)).tolist()}}
    return make_checkpoint(model.eval(), cfg, classes, zeros, ones, metrics,
                           open_set=open_set.to_dict()), failures
