"""Evaluate a checkpoint on labelled songs: per-song and per-slice metrics, confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..fileio import atomic_write_text


def evaluate_checkpoint(checkpoint, tracks, *, cache_dir="cache", jobs: int = 1,
                        rule: str | None = None, out_dir=None, progress=None,
                        risk_coverage: bool = False) -> dict:
    """Report dict (``accuracy``, ``macro_f1``, ``per_class``, ``confusion_matrix``,
    ``slice_accuracy``, ``skipped``...); with ``out_dir`` also ``report.json`` and
    ``confusion.png`` there. ``risk_coverage``: also ``risk_coverage`` (accuracy of the most
    confident 50/80/90/100 % of the songs, AURC) and ``risk_coverage.png``."""
    from ..checkpoint import load_checkpoint
    from ..features.spec import FeatureSpec
    from .metrics import song_and_slice_metrics
    from .songs import load_songs

    ckpt = load_checkpoint(checkpoint)
    if ckpt.get("kind") == "ensemble":
        rep = classifier_report(checkpoint, tracks, jobs=jobs, rule=rule)
        return _write_report(_with_rc(rep, risk_coverage), checkpoint, out_dir)
    classes = list(ckpt["classes"])
    spec = FeatureSpec.from_dict(ckpt["features"])
    sl = ckpt["slices"]
    rule = rule or sl.get("aggregate", "confidence")
    skipped = [(str(t.path), f"label {t.label!r} is not one of the model's classes")
               for t in tracks if t.label not in classes]
    tracks = [t for t in tracks if t.label in classes]
    songs, failures = load_songs(tracks, classes, spec, cache_dir, jobs=jobs, progress=progress)
    if not len(songs):
        from ..errors import UnreadableDataError

        raise UnreadableDataError(f"none of the {len(tracks)} labelled songs could be read "
                                  "to evaluate", failures)
    scores, slice_probs = checkpoint_song_scores(ckpt, checkpoint, songs, rule=rule)
    rep = song_and_slice_metrics(scores, slice_probs, songs.labels, classes)
    rep.update({"checkpoint": str(checkpoint), "classes": classes, "aggregate": rule,
                "skipped": skipped + [list(f) for f in failures],
                "songs": [{"path": p, "true": classes[y], "pred": classes[int(s.argmax())],
                           "score": float(s.max())}
                          for p, y, s in zip(songs.paths, songs.labels, scores, strict=True)]})
    return _write_report(_with_rc(rep, risk_coverage), checkpoint, out_dir)


def _with_rc(rep: dict, wanted: bool) -> dict:
    """The report with its risk-coverage curve (by each song's top probability)."""
    if wanted:
        from .metrics import risk_coverage

        s = rep["songs"]
        rep["risk_coverage"] = risk_coverage([x["score"] for x in s],
                                             [x["pred"] == x["true"] for x in s])
    return rep


def checkpoint_song_scores(ckpt: dict, source, songs, *, rule: str, temperature=None):
    """Song scores ``[S, K]`` and per-song slice probabilities of a loaded checkpoint on
    cached ``songs`` (its own slicing, normalisation and, unless given, temperature)."""
    from ..data.slices import slice_frames
    from ..features.spec import FeatureSpec
    from ..inference.apply import songs_through
    from ..inference.runners import TorchRunner

    width, hop = slice_frames(ckpt["slices"], FeatureSpec.from_dict(ckpt["features"]))
    runner = TorchRunner.from_checkpoint(ckpt, source, temperature=temperature)
    return songs_through(runner, songs.features, width=width, hop=hop, rule=rule)


def _write_report(rep: dict, checkpoint, out_dir) -> dict:
    from .plots import plot_confusion

    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "report.json", json.dumps(rep, indent=2))
        plot_confusion(np.array(rep["confusion_matrix"]), rep["classes"],
                       out / "confusion.png",
                       title=f"{Path(checkpoint).name}: acc {rep['accuracy']:.3f}, "
                             f"macro-F1 {rep['macro_f1']:.3f}")
        if "risk_coverage" in rep:
            from .plots import plot_risk_coverage

            plot_risk_coverage(rep["risk_coverage"], out / "risk_coverage.png")
    return rep


def classifier_report(model_path, tracks, *, jobs: int = 1, rule: str | None = None) -> dict:
    """The same report through ``GenreClassifier.load`` (any model file, ensembles too):
    song scores from predictions, slice accuracy from their timelines."""
    from ..inference.classifier import load_classifier
    from .metrics import song_and_slice_metrics

    clf = load_classifier(model_path, aggregate=rule)
    classes = list(clf.classes_)
    known = [t for t in tracks if t.label in classes]
    skipped = [(str(t.path), f"label {t.label!r} is not one of the model's classes")
               for t in tracks if t.label not in classes]
    label_of = {str(t.path): classes.index(t.label) for t in known}
    scores, slices, labels, songs = [], [], [], []
    for p, pred, err in clf.predict_many([t.path for t in known], jobs=jobs):
        if err:
            skipped.append((p, err))
            continue
        scores.append([pred.scores[c] for c in classes])
        slices.append(np.array([[s.scores[c] for c in classes] for s in pred.timeline]))
        labels.append(label_of[p])
        songs.append({"path": p, "true": classes[label_of[p]], "pred": pred.closest,
                      "score": pred.score})
    if not scores:
        from ..errors import ParameterError

        raise ParameterError("no readable labelled songs to evaluate")
    rep = song_and_slice_metrics(np.array(scores), slices, np.array(labels), classes)
    rep.update({"checkpoint": str(model_path), "classes": classes, "aggregate": clf.rule,
                "skipped": [list(s) for s in skipped], "songs": songs})
    return rep
