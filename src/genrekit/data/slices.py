"""Fixed-width slices of a song's features ``[C, F, T]``.

Padding rule for songs shorter than one slice: the frames are repeated (wrap-around) until
the slice is full, so a short clip looks like a loop of itself rather than like silence
(a silent pad would sit at the -100 dB floor, far from anything seen in training).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError


def seconds_to_frames(seconds: float, sr: int, hop_length: int) -> int:
    frames = int(round(seconds * sr / hop_length))
    if frames < 1:
        raise ParameterError(f"{seconds} s is less than one frame at sr={sr}, hop={hop_length}")
    return frames


def slice_frames(slices, spec) -> tuple[int, int]:
    """``(width, hop)`` in frames of a slicing (a checkpoint's ``slices`` dict, or an object
    with ``slice_seconds`` / ``slice_hop_seconds``) on ``spec``'s frame rate."""
    get = slices.get if isinstance(slices, dict) else lambda k: getattr(slices, k)
    return (seconds_to_frames(get("slice_seconds"), spec.sr, spec.hop_length),
            seconds_to_frames(get("slice_hop_seconds"), spec.sr, spec.hop_length))


def pad_to(X: np.ndarray, width: int) -> np.ndarray:
    """Wrap-pad the time axis of ``X [C, F, T]`` to at least ``width`` frames."""
    T = X.shape[-1]
    if T >= width:
        return X
    if T == 0:
        raise ParameterError("cannot slice a song with 0 frames")
    return np.pad(X, [(0, 0), (0, 0), (0, width - T)], mode="wrap")


def grid_starts(T: int, width: int, hop: int) -> list[int]:
    """Start frames of the evaluation grid: every ``hop`` frames, plus a last slice flush
    with the end so the grid covers the whole song."""
    if hop < 1:
        raise ParameterError(f"slice hop must be >= 1 frame, got {hop}")
    if T <= width:
        return [0]
    starts = list(range(0, T - width + 1, hop))
    if starts[-1] + width < T:
        starts.append(T - width)
    return starts


def grid_slices(X: np.ndarray, width: int, hop: int) -> tuple[np.ndarray, list[int]]:
    """All grid slices ``[N, C, F, width]`` and their start frames."""
    Xp = pad_to(X, width)
    starts = grid_starts(X.shape[-1], width, hop)
    return np.stack([Xp[..., s:s + width] for s in starts]), starts


class SliceGrid:
    """:func:`grid_slices` of features that arrive in blocks along time: each grid slice as
    soon as its frames are in, the last (flush with the end, or wrap-padded for a song
    shorter than a slice) at :meth:`finish`; the same slices and starts as
    ``grid_slices`` of the whole, holding at most a slice's width of frames beyond the
    next start."""

    def __init__(self, width: int, hop: int):
        if hop < 1:
            raise ParameterError(f"slice hop must be >= 1 frame, got {hop}")
        self.width, self.hop = width, hop
        self.frames: np.ndarray | None = None  # held frames [C, F, n], from song frame f0
        self.f0 = 0
        self.T = 0  # frames received
        self.next = 0  # next grid start
        self.last = None  # last start given

    def push(self, block: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Take the next frames ``[C, F, n]``; return ``(start, slice)`` of the slices they
        complete."""
        self.frames = block if self.frames is None else np.concatenate([self.frames, block],
                                                                       -1)
        self.T += block.shape[-1]
        out = []
        while self.next + self.width <= self.T:
            out.append(self._take(self.next))
            self.next += self.hop
        keep = max(self.f0, min(self.next, self.T - self.width))  # the flush slice's frames
        self.frames, self.f0 = self.frames[..., keep - self.f0:], keep
        return out

    def finish(self) -> list[tuple[int, np.ndarray]]:
        """The last slice once the song has ended (none if the grid already reached it)."""
        if self.T == 0:
            raise ParameterError("cannot slice a song with 0 frames")
        if self.T < self.width:
            return [(0, pad_to(self.frames, self.width))]
        end = grid_starts(self.T, self.width, self.hop)[-1]  # the grid's own last start
        return [] if end == self.last else [self._take(end)]

    def _take(self, start: int) -> tuple[int, np.ndarray]:
        self.last = start
        i = start - self.f0
        return start, self.frames[..., i:i + self.width].copy()


def random_crop(X: np.ndarray, width: int, rng: np.random.Generator) -> np.ndarray:
    """One slice at a random start (seeded through ``rng``)."""
    Xp = pad_to(X, width)
    start = int(rng.integers(0, Xp.shape[-1] - width + 1))
    return Xp[..., start:start + width]
