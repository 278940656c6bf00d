"""Long files through a classifier block by block (Demucs' chunked ``apply``, for songs):
decoded in a background thread while the model runs on the slices already complete, so
memory is bounded by a block whatever the length (an hour-long mix with
``max_duration=None``), with the same slices, batches and result as the whole song's
features (``GenreClassifier.predict_features``).

Data flow: ``FileJob.open`` / ``audio.open_checked`` (mono chunks at the model's rate, read ahead by
``engine.prefetch.read_ahead``) -> ``features.stream.FrameStream`` (blocks of frames) ->
``data.slices.SliceGrid`` (grid slices) -> ``apply.slice_batch_outputs`` (the runner, a
batch at a time) -> ``GenreClassifier.song_prediction`` (aggregate, timeline, open set).
"""

from __future__ import annotations

import numpy as np

from .prediction import Prediction


def predict_file(clf, path, *, top_k: int = 3) -> Prediction:
    """``clf``'s prediction of one file, probed once: a long one (over
    ``audio_stream.STREAM_ABOVE`` s) block by block, a short one from its whole features.
    ``clf`` must stream (``GenreClassifier.streams``).

    Raises:
        AudioLoadError: as ``audio.load_checked`` (a long file's refusals after its last
            block).
    """
    y = clf.file_job.open(path)
    if isinstance(y, np.ndarray):
        return clf.predict_features([(path, clf.features_from_audio(y))], top_k=top_k)[0]
    return predict_chunks(clf, path, y, top_k=top_k)


def predict_chunks(clf, path, chunks, *, top_k: int = 3) -> Prediction:
    """The prediction of a long file from its chunks (``audio.open_checked``), read ahead
    in a thread while the model runs on the slices already complete."""
    from ..data.slices import SliceGrid
    from ..engine.prefetch import read_ahead
    from ..features.stream import FrameStream
    from .apply import slice_batch_outputs

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

    ahead = read_ahead(chunks)
    try:
        for block in frames.run(ahead):
            pending += grid.push(block)
            while len(pending) >= clf.batch_size:
                run(clf.batch_size)
    finally:  # an error here stops the decode thread now, not when garbage is collected
        ahead.close()
    pending += grid.finish()
    while pending:
        run(clf.batch_size)
    E = None if Es[0] is None else np.concatenate(Es)
    return clf.song_prediction(path, np.concatenate(Ps), starts, E, grid.T, top_k)


def predict_in_turn(clf, paths: list[str], *, top_k: int, songs_per_batch: int,
                    batch_size: int | None, progress):
    """``clf.predict_many`` with one job, in this process: each file probed and decoded
    once; a long one block by block as it comes, the short ones between them batched
    ``songs_per_batch`` songs at a time; results in input order."""
    from ..engine.jobs import failure_reason

    group = []  # (path, features or None, error or None)

    def flush():
        yield from clf.predict_group(group, top_k, batch_size, progress)
        group.clear()

    for p in paths:
        try:
            y = clf.file_job.open(p)
            if isinstance(y, np.ndarray):
                group.append((p, clf.features_from_audio(y), None))
            else:
                yield from flush()  # the files before it, in input order
                pred = predict_chunks(clf, p, y, top_k=top_k)
                if progress:
                    progress(p, "done")
                yield p, pred, None
                continue
        except Exception as exc:  # noqa: BLE001 - one line for this file, the rest go on
            group.append((p, None, failure_reason(exc)))
        if len(group) >= songs_per_batch:
            yield from flush()
    yield from flush()
