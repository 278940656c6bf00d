"""Features of audio that arrives in pieces: :class:`FrameStream` turns mono chunks into
blocks of whole STFT frames, each frame the same as in the whole song's features, so a
song never has to be held whole (``GenreClassifier`` on long files, ``FileJob.features``).

Frame ``t`` (``center=True``) reads samples ``[t*hop - n_fft/2, t*hop + n_fft/2)`` of the
song; a block of frames ``[t0, t1)`` is computed from the samples it reads plus enough
frames of context on each side that no kept frame touches the block's own edge padding,
and the song's first and last blocks keep the song's own edges. Only frame-local channels
(each frame from its own samples: ``STREAMABLE``) can be computed this way: HPSS's median
filters and the CQT's long windows reach across frames.

Exact: the blocks' frames equal the whole song's bit for bit with the numpy backend
(tests/test_feature_stream.py), with one care: a last block of a single frame would go
through BLAS's matrix-vector path (other rounding), so the last block always recomputes a
few frames before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

#: channels computed frame by frame (from each frame's own samples)
STREAMABLE = frozenset({"stft", "mel", "mel_logc"})
#: the last block is at least this many frames (recomputed ones dropped)
_MIN_LAST = 16


def streamable(spec) -> bool:
    """Whether ``spec``'s features can be computed block by block (:class:`FrameStream`)."""
    return bool(spec.center) and set(spec.names) <= STREAMABLE


class FrameStream:
    """Mono chunks at ``spec.sr`` -> feature blocks ``[C, F, n]`` of ``block_frames``
    frames (the last one shorter), in order, equal to the slices of the whole song's
    features ``compute(y)`` along time.

    ``compute``: mono float32 at ``spec.sr`` -> ``[C, F, 1 + len // hop]`` (a classifier's
    ``features_from_audio``). Holds at most one block's samples plus a frame of context.
    """

    def __init__(self, spec, block_frames: int, compute: Callable[[np.ndarray], np.ndarray]):
        self.hop, self.half = spec.hop_length, spec.n_fft // 2
        self.context = -(-self.half // self.hop)  # frames whose window reaches past an edge
        self.block = int(block_frames)
        self.compute = compute
        self.pieces: list[np.ndarray] = []
        self.start = 0  # song sample index of the first held sample
        self.held = 0  # samples held
        self.t0 = 0  # next frame to compute
        self.frames = 0  # frames computed so far

    @property
    def samples(self) -> int:
        """Samples received so far."""
        return self.start + self.held

    def push(self, chunk: np.ndarray) -> list[np.ndarray]:
        """Take the next chunk; return the blocks it completes (often none)."""
        if len(chunk):
            self.pieces.append(np.asarray(chunk, dtype=np.float32))
            self.held += len(chunk)
        out = []
        while (self.t0 + self.block - 1) * self.hop + self.half <= self.samples:
            out.append(self._frames(self.t0, self.t0 + self.block,
                                    (self.t0 + self.block - 1) * self.hop + self.half))
        return out

    def finish(self) -> list[np.ndarray]:
        """The frames left once the song has ended (``1 + samples // hop`` in all)."""
        total = 1 + self.samples // self.hop
        if self.t0 >= total or not self.samples:
            return []
        first = max(0, min(self.t0, total - _MIN_LAST))  # never a one-frame matrix product
        block = self._frames(first, total, self.samples, keep_from=self.t0)
        return [block]

    def run(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Every block of a whole stream of chunks."""
        for chunk in chunks:
            yield from self.push(chunk)
        yield from self.finish()

    def _frames(self, t0: int, t1: int, end: int, keep_from: int | None = None) -> np.ndarray:
        """Frames ``[t0, t1)`` from the held samples up to song index ``end`` (the song's
        end for the last block); only frames from ``keep_from`` (default ``t0``) returned."""
        keep_from = t0 if keep_from is None else keep_from
        a = max(0, (t0 - self.context) * self.hop)
        y = self._held()
        X = self.compute(y[a - self.start: end - self.start])
        j0 = keep_from - a // self.hop
        out = np.ascontiguousarray(X[..., j0: j0 + (t1 - keep_from)])
        self.t0 = t1
        self.frames += out.shape[-1]
        self._drop_before(max(0, (self.t0 - self.context) * self.hop))
        return out

    def _held(self) -> np.ndarray:
        if len(self.pieces) > 1:
            self.pieces = [np.concatenate(self.pieces)]
        return self.pieces[0] if self.pieces else np.zeros(0, np.float32)

    def _drop_before(self, index: int) -> None:
        """Forget the samples before song index ``index``, but keep ``_MIN_LAST`` frames'
        worth for the last block."""
        index = max(self.start, index - _MIN_LAST * self.hop)
        y = self._held()
        cut = min(index - self.start, len(y))
        if cut > 0:
            self.pieces = [y[cut:]]
            self.start += cut
            self.held -= cut
