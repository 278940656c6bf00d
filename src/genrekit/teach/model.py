"""The teach page's "save model": a song head on the labels so far over a trained model's
frozen backbone, with its own novelty model and calibration (``training.open_set``): the
recipe of ``genrekit finetune default labels.csv``, fitted on every labelled song from the
song embeddings the session already has (no second pass over the audio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def base_checkpoint(classifier) -> Path:
    """The .pt checkpoint behind a classifier (the bundled model's for its ONNX graph)."""
    from ..errors import ParameterError
    from ..inference.classifier import DEFAULT_MODEL

    src = Path(classifier.source)
    if src.suffix.lower() == ".pt":
        return src
    if src.parent == DEFAULT_MODEL.parent:  # the bundled graph: its checkpoint ships too
        return DEFAULT_MODEL
    raise ParameterError(f"{src.name}: saving a model needs the .pt checkpoint (an ONNX "
                         "file holds no trainable head); start teach with --model FILE.pt")


def save_song_model(session, checkpoint, out) -> Path:
    """Fit and write the model of ``session``'s labels to ``out`` (.pt); returns ``out``."""
    import torch

    from ..checkpoint import load_checkpoint, save_checkpoint
    from ..config import Config
    from ..errors import ParameterError
    from ..models import create_model
    from ..training.open_set import song_head_open_set
    from ..training.run import make_checkpoint
    from ..training.song_head import fit_song_head, install_head

    lab = [i for i, g in enumerate(session.labels) if g is not None]
    genres = [session.labels[i] for i in lab]
    classes = sorted(set(genres))
    if len(classes) < 2 or len(lab) < 4:
        raise ParameterError(f"a model needs labels of two genres or more ({len(lab)} labels "
                             f"of {len(classes)} genre(s) so far)")
    ck = load_checkpoint(checkpoint)
    cfg = ck.get("config", {})
    train = {**cfg.get("train", {}), "epochs": 1, "freeze_epochs": 1, "head": "song",
             "aggregate": "geometric"}
    config = Config.from_dict({**cfg, "train": train})
    C = float(train.get("head_c", 0.01))
    y = np.searchsorted(classes, genres)
    emb = [session.Z[i][None] for i in lab]  # each song's mean embedding (one row)
    head = fit_song_head(emb, y, len(classes), C=C)
    torch.manual_seed(0)
    spec_channels = len(np.atleast_1d(np.asarray(ck["normalization"]["mean"])))
    model = create_model(ck["model"]["name"], len(classes), spec_channels,
                         **ck["model"].get("kwargs", {}))
    backbone = {k: v.float() if v.is_floating_point() else v
                for k, v in ck["state_dict"].items() if not k.startswith("head.")}
    model.load_state_dict(backbone, strict=False)
    install_head(model, head)
    open_set = song_head_open_set(emb, y, [session.paths[i] for i in lab], len(classes), C=C,
                                  names=[Path(session.paths[i]).name for i in lab])
    out_ck = make_checkpoint(model.eval(), config, classes, ck["normalization"]["mean"],
                             ck["normalization"]["std"],
                             {"fit": {"songs": len(lab), "head": "song", "C": C,
                                      "source": "genrekit teach"}},
                             open_set=open_set.to_dict())
    save_checkpoint(out, out_ck)
    return Path(out)
