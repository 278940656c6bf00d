"""Long files through a classifier block by block (Demucs' chunked ``apply``, for songs):
decoded in a background thread while the model runs on the slices already complete, so
memory is bounded by a block whatever the length (an hour-long mix with
``max_duration=None``), with the same slices, batches and result as the whole song's
features (``GenreClassifier.predict_features``).

Data flow: ``audio.open_checked_stream`` (mono chunks at the model's rate, read ahead by
``engine.prefetch.read_ahead``) -> ``features.stream.FrameStream`` (blocks of frames) ->
``data.slices.SliceGrid`` (grid slices) -> ``apply.slice_batch_outputs`` (the runner, a
batch at a time) -> ``GenreClassifier.song_prediction`` (aggregate, timeline, open set).
"""

from __future__ import annotations

import numpy as np

from .prediction import Prediction


def predict_long(clf, path, *, top_k: int = 3) -> Prediction | None:
    """``clf``'s prediction of a long file (over ``audio_stream.STREAM_ABOVE`` s), or None
    when the file is not long (then ``clf.predict`` reads it whole). ``clf`` must stream
    (``GenreClassifier.streams``).

    Raises:
        AudioLoadError: as ``audio.load_checked`` (its refusals after the last block).
    """
    from ..audio import open_checked_stream
    from ..data.slices import SliceGrid
    from ..engine.prefetch import read_ahead
    from ..features.stream import FrameStream
    from .apply import slice_batch_outputs

    job = clf.file_job
    chunks = open_checked_stream(path, clf.spec.sr, min_duration=job.min_duration,
                                 max_duration=job.max_duration)
    if chunks is None:
        return None
    # blocks of whole batches of slices (a multiple of the slice width: see FrameStream)
    frames = FrameStream(clf.spec, clf.batch_size * clf.width, clf.features_from_audio)
    grid = SliceGrid(clf.width, clf.hop)
    embed = clf.open_set is not None or clf.keep_embeddings
    pending, starts, Ps, Es = [], [], [], []

    def run(n):
        batch, pending[:n] = pending[:n], []
        starts.extend(st for st, _ in batch)
        P, E = slice_batch_outputs(clf.runner, np.stack([S for _, S in batch]),
                                   batch_size=clf.batch_size, tta=clf.tta, embeddings=embed)
        Ps.append(P)
        Es.append(E)

    for block in frames.run(read_ahead(chunks)):
        pending += grid.push(block)
        while len(pending) >= clf.batch_size:
            run(clf.batch_size)
    pending += grid.finish()
    while pending:
        run(clf.batch_size)
    E = None if Es[0] is None else np.concatenate(Es)
    return clf.song_prediction(path, np.concatenate(Ps), starts, E, grid.T, top_k)


def predict_in_turn(clf, paths: list[str], *, top_k: int, songs_per_batch: int,
                    batch_size: int | None, progress):
    """``clf.predict_many`` with one job: each long file block by block as it comes, the
    short ones between them in groups (``clf.predict_groups``), results in input order."""
    from ..engine.jobs import failure_reason

    short = []

    def flush():
        yield from clf.predict_groups(short, top_k, 1, songs_per_batch, batch_size, progress)
        short.clear()

    for p in paths:
        try:
            pred, err = clf.predict_long(p, top_k=top_k), None
        except Exception as exc:  # noqa: BLE001 - one line for this file, the rest go on
            pred, err = None, failure_reason(exc)
        if pred is None and err is None:
            short.append(p)
            if len(short) == songs_per_batch:
                yield from flush()
            continue
        yield from flush()  # the short files before it, in input order
        if progress:
            progress(p, "failed" if err else "done")
        yield p, pred, err
    yield from flush()
