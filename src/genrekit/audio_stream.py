"""Long files decoded in blocks: mixed to mono and resampled (soxr's streaming resampler)
block by block, so a song is never held whole at its source rate and channel count.

A 10-minute 44.1 kHz stereo window is 212 MB of float32 at the source; streamed, the peak
is one block (10 s: 3.5 MB) plus the result at the model's rate (600 s at 16 kHz: 38 MB).
The decode policy is the same as ``audio.load_checked``'s: the silence and DC checks read
the mono signal as recorded (running extremes), a file past full scale is scaled by its
peak (after resampling: every step is linear, so this equals scaling first to float
rounding), the resampler's overshoot is clipped.

Only files longer than ``STREAM_ABOVE`` seconds take this path; shorter ones keep the
one-shot path, sample for sample as before. The two share this module's primitives: the
mono sum (:func:`mono_sum`) and the refusal rule (:func:`check_extremes`, with
``SILENCE_PEAK``); ``audio`` imports them (this module imports nothing of ``audio``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import AudioLoadError

#: files longer than this (seconds) are streamed
STREAM_ABOVE = 120.0
#: seconds of source audio decoded at a time
BLOCK_SECONDS = 10.0
#: Audio whose peak stays below this (-80 dBFS) is treated as silence.
SILENCE_PEAK = 1e-4


def mono_sum(y: np.ndarray) -> np.ndarray:
    """``[channels, n]`` -> ``[n]`` float32 channel mean: summed channel by channel into one
    contiguous row, then divided by the count. Exactly ``y.mean(axis=0)`` in float32 (the
    same additions in the same order), but ``mean`` over the decoders' interleaved
    (strided) channels took 0.165 s of a 4-minute stereo song, this 0.02 s."""
    acc = np.array(y[0], dtype=np.float32)  # contiguous copy
    for ch in y[1:]:
        acc += ch
    if len(y) > 1:
        acc /= np.float32(len(y))
    return acc


def check_extremes(path, seconds: float, peak: float, span: float,
                   min_duration: float) -> None:
    """The decode policy's refusals, from a mono signal's length, peak level and
    peak-to-peak span (as recorded): too short, silent, a constant (DC) level."""
    if seconds < min_duration:
        raise AudioLoadError(path, f"too short: {seconds:.2f} s of audio, need at least "
                                   f"{min_duration:g} s")
    if peak < SILENCE_PEAK:
        raise AudioLoadError(path, "silent: the peak level is below -80 dBFS")
    if span < 2 * SILENCE_PEAK:
        raise AudioLoadError(path, "no sound: the signal is a constant (DC) level")


def streamable(path: Path, extensions) -> tuple[int, int] | None:
    """``(frames, samplerate)`` of a long file libsndfile reads (one of ``extensions``),
    else None."""
    if Path(path).suffix.lower() not in extensions:
        return None
    try:
        import soundfile as sf

        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - the one-shot path reports what is wrong
        return None
    if info.frames <= 0 or info.samplerate <= 0 or info.frames / info.samplerate <= STREAM_ABOVE:
        return None
    return info.frames, info.samplerate


class _Mono:
    """Blocks ``[channels, n]`` at the source rate -> mono at ``sr``, with the running
    statistics the decode policy needs (peak over channels, extremes of the mono signal)."""

    def __init__(self, path, native: int, sr: int):
        import soxr

        self.path, self.native = path, native
        self.rs = soxr.ResampleStream(native, sr, 1, dtype="float32", quality="HQ") \
            if native != sr else None
        self.out, self.lo, self.hi, self.peak, self.n = [], np.inf, -np.inf, 0.0, 0

    def add(self, block: np.ndarray) -> None:
        if not np.all(np.isfinite(block)):
            raise AudioLoadError(self.path, "corrupt: decoded samples contain NaN or infinity")
        if not block.shape[1]:
            return
        self.peak = max(self.peak, float(block.max()), -float(block.min()))
        mono = mono_sum(block)
        self.lo, self.hi = min(self.lo, float(mono.min())), max(self.hi, float(mono.max()))
        self.n += len(mono)
        self.out.append(self.rs.resample_chunk(mono) if self.rs else mono)

    def finish(self, min_duration: float) -> np.ndarray:
        if self.rs is not None:
            self.out.append(self.rs.resample_chunk(np.zeros(0, np.float32), last=True))
        scale = 1.0 / self.peak if self.peak > 1.0 else 1.0  # a float file past full scale
        lo, hi = self.lo * scale, self.hi * scale
        check_extremes(self.path, self.n / self.native, max(abs(lo), abs(hi)), hi - lo,
                       min_duration)
        y = np.concatenate(self.out) if self.out else np.zeros(0, np.float32)
        if scale != 1.0:
            y *= np.float32(scale)
        if len(y) and max(float(y.max()), -float(y.min())) > 1.0:  # resampler overshoot
            np.clip(y, -1.0, 1.0, out=y)
        return np.ascontiguousarray(y, dtype=np.float32)


def stream_checked(path: Path, sr: int, *, min_duration: float,
                   max_duration: float | None) -> np.ndarray:
    """Mono float32 at ``sr`` of (at most ``max_duration`` s of) a long file libsndfile
    reads, refused as ``audio.load_checked`` refuses (too short, silent, constant,
    non-finite)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        acc = _Mono(path, f.samplerate, sr)
        limit = f.frames if not max_duration else min(f.frames,
                                                      int(round(max_duration * f.samplerate)))
        try:
            for block in f.blocks(blocksize=int(BLOCK_SECONDS * f.samplerate), frames=limit,
                                  dtype="float32", always_2d=True):
                acc.add(block.T)
        except AudioLoadError:
            raise
        except Exception:  # noqa: BLE001 - a file damaged midway: what decoded is used
            if not acc.n:
                raise
    return acc.finish(min_duration)


def stream_checked_av(path: Path, sr: int, *, min_duration: float,
                      max_duration: float | None) -> np.ndarray | None:
    """As :func:`stream_checked` through PyAV (m4a, opus, ...), frame by frame; None when
    the file is not long (or says no duration): the one-shot path then reads it."""
    import av

    try:
        container = av.open(str(path))
    except Exception:  # noqa: BLE001 - the one-shot path says what is wrong
        return None
    try:
        streams = container.streams.audio
        if not streams or not container.duration or \
                container.duration / 1_000_000 <= STREAM_ABOVE:
            return None
        stream = streams[0]
        native = stream.codec_context.sample_rate or stream.rate
        if not native:
            return None
        acc = _Mono(path, native, sr)
        limit = None if not max_duration else int(round(max_duration * native))
        pending, held = [], 0  # frames gathered into blocks: a resampler call per frame
        per_block = int(BLOCK_SECONDS * native)  # (1024 samples) costs more than it saves

        def flush():
            nonlocal pending, held
            if pending:
                acc.add(np.concatenate(pending, axis=1))
            pending, held = [], 0

        try:
            for frame in container.decode(stream):
                block = to_float_planar(frame.to_ndarray(), frame.format.name,
                                        len(frame.layout.channels))
                if limit is not None:
                    block = block[:, : limit - acc.n - held]
                pending.append(block)
                held += block.shape[1]
                if held >= per_block:
                    flush()
                if limit is not None and acc.n + held >= limit:
                    break
        except AudioLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - damaged midway: what decoded is used
            if not acc.n and not held:
                raise AudioLoadError(path, f"corrupt or unsupported codec ({exc})") from None
        flush()
        return acc.finish(min_duration)
    finally:
        container.close()


def to_float_planar(arr: np.ndarray, fmt: str, channels: int) -> np.ndarray:
    """PyAV frame array -> float32 [channels, n] in [-1, 1]."""
    packed = not fmt.endswith("p")
    if packed:  # interleaved: shape (1, n*channels)
        arr = arr.reshape(-1, channels).T
    base = fmt.rstrip("p")
    if base in ("flt", "dbl"):
        return arr.astype(np.float32)
    scale = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9.223372036854776e18}[base]
    arr = arr.astype(np.float32)
    if base == "u8":
        arr -= 128.0
    return arr / scale
