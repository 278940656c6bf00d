"""Long files decoded in blocks: mixed to mono and resampled (soxr's streaming resampler)
block by block, so a song is never held whole at its source rate and channel count.

A long file opens as a :class:`Source` (libsndfile, else PyAV) and is read one of two
ways: :func:`stream_checked`, the whole result at the model's rate (the one-shot path's
samples: a 10-minute 44.1 kHz stereo window is 212 MB of float32 at the source, streamed
the peak is one 10 s block of 3.5 MB plus 600 s at 16 kHz, 38 MB), or
:func:`iter_checked`, chunk by chunk for a consumer that never holds the song
(``inference.long_files``, ``FileJob.features``). The decode policy is the same as
``audio.load_checked``'s: the silence and DC checks read the mono signal as recorded
(running extremes), a file past full scale is scaled by its peak (after resampling: every
step is linear, so this equals scaling first to float rounding; chunk by chunk, the peak
so far), the resampler's overshoot is clipped.

Only files longer than ``STREAM_ABOVE`` seconds take this path; shorter ones keep the
one-shot path, sample for sample as before. The two share this module's primitives: the
mono sum (:func:`mono_sum`) and the refusal rule (:func:`check_extremes`, with
``SILENCE_PEAK``); ``audio`` imports them (this module imports nothing of ``audio``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import AudioLoadError, DecodeWarning

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


class _Mono:
    """Blocks ``[channels, n]`` at the source rate -> mono chunks at ``sr``, with the running
    statistics the decode policy needs (peak over channels, extremes of the mono signal)."""

    def __init__(self, path, native: int, sr: int):
        import soxr

        self.path, self.native = path, native
        self.rs = soxr.ResampleStream(native, sr, 1, dtype="float32", quality="HQ") \
            if native != sr else None
        self.lo, self.hi, self.peak, self.n = np.inf, -np.inf, 0.0, 0

    def add(self, block: np.ndarray) -> np.ndarray:
        """The resampled mono chunk of ``block`` (as recorded: not scaled)."""
        if not block.shape[1]:
            return np.zeros(0, np.float32)
        hi, lo = float(block.max()), float(block.min())  # NaN and infinity show here too
        if not (np.isfinite(hi) and np.isfinite(lo)):
            raise AudioLoadError(self.path, "corrupt: decoded samples contain NaN or infinity")
        self.peak = max(self.peak, hi, -lo)
        mono = mono_sum(block)
        self.lo, self.hi = min(self.lo, float(mono.min())), max(self.hi, float(mono.max()))
        self.n += len(mono)
        return self.rs.resample_chunk(mono) if self.rs else mono

    def flush(self) -> np.ndarray:
        """What the resampler still holds, at the end."""
        if self.rs is None:
            return np.zeros(0, np.float32)
        return self.rs.resample_chunk(np.zeros(0, np.float32), last=True)

    @property
    def scale(self) -> float:
        """The level factor so far: ``1 / peak`` once a sample passed full scale (a float
        file), else 1."""
        return 1.0 / self.peak if self.peak > 1.0 else 1.0

    def check(self, min_duration: float) -> None:
        """Refuse, at the end, what ``audio.load_checked`` refuses (on the scaled signal)."""
        lo, hi = self.lo * self.scale, self.hi * self.scale
        check_extremes(self.path, self.n / self.native, max(abs(lo), abs(hi)), hi - lo,
                       min_duration)


def _leveled(y: np.ndarray, scale: float) -> np.ndarray:
    """``y`` scaled by ``scale``, the resampler's overshoot past full scale clipped."""
    if scale != 1.0:
        y = y * np.float32(scale)
    if len(y) and max(float(y.max()), -float(y.min())) > 1.0:
        y = np.clip(y, -1.0, 1.0)
    return np.ascontiguousarray(y, dtype=np.float32)


class Source:
    """A long file opened for block decoding: its rate and its blocks ``[channels, n]``
    (float32 at the source rate, at most ``max_duration`` s, what decoded before any damage
    midway)."""

    def __init__(self, path: Path, native: int, blocks):
        self.path, self.native, self.blocks = path, native, blocks


def open_source(path: Path, soundfile_exts, max_duration: float | None) -> Source | None:
    """A long file (over ``STREAM_ABOVE`` s) as a :class:`Source`, through libsndfile when
    its extension is one of ``soundfile_exts`` (and libsndfile reads it), else PyAV; None
    when it is not long (or says no length): the one-shot path then reads it and says what
    is wrong, if anything."""
    path = Path(path)
    if path.suffix.lower() in soundfile_exts:
        return _soundfile_source(path, max_duration)
    return _pyav_source(path, max_duration)


def _soundfile_source(path: Path, max_duration):
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # noqa: BLE001 - e.g. an mp3 and a libsndfile older than 1.1: FFmpeg
        return _pyav_source(path, max_duration)
    if info.frames <= 0 or info.samplerate <= 0 or info.frames / info.samplerate <= STREAM_ABOVE:
        return None
    native = info.samplerate
    limit = info.frames if not max_duration else min(info.frames,
                                                     int(round(max_duration * native)))

    def blocks():
        got, size, damaged = 0, int(BLOCK_SECONDS * native), False
        with sf.SoundFile(str(path)) as f:
            try:
                # not SoundFile.blocks: past the real end of a file shorter than its header
                # says (a truncated mp3) it yields its buffer again, stale audio included
                while got < limit:
                    block = f.read(min(size, limit - got), dtype="float32", always_2d=True)
                    if not len(block):
                        break
                    got += len(block)
                    yield block.T
            except AudioLoadError:
                raise
            except Exception as exc:  # noqa: BLE001 - damaged midway: what decoded is used
                if not got:
                    raise AudioLoadError(path, f"corrupt ({str(exc)[:160]})") from None
                damaged = True
        if got < limit - native:  # more than 1 s short of the header's length
            yield from _resynced(path, native, got, limit, damaged)
        chained_ogg_warning(path, got / native)

    return Source(path, native, blocks())


def _resynced(path: Path, native: int, got: int, limit: int, damaged: bool):
    """The rest of a file whose libsndfile decode stopped at sample ``got`` (damage midway,
    or a truncation): FFmpeg's decoder resyncs past damage, so its samples from ``got`` on
    are used where it has any; one ``DecodeWarning`` says what was analysed."""
    import warnings

    more = 0
    # FFmpeg resyncs mp3 past damage (Vorbis/FLAC damage is final); a file that just ends
    # early (truncated) is not re-read: what libsndfile gave is the one-shot path's samples
    if damaged and path.suffix.lower() == ".mp3":
        try:
            import av

            with av.open(str(path)) as c:
                seen = 0
                for frame in _frames_past_damage(c, c.streams.audio[0]):
                    a = to_float_planar(frame.to_ndarray(), frame.format.name,
                                        len(frame.layout.channels))
                    lo, hi = max(got + more - seen, 0), min(a.shape[1], limit - seen)
                    seen += a.shape[1]
                    if hi > lo:
                        more += hi - lo
                        yield np.ascontiguousarray(a[:, lo:hi])
                    if seen >= limit:
                        break
        except Exception:  # noqa: BLE001 - what decoded before stays analysed
            pass
    total, at = limit / native, got / native
    what = "damaged" if damaged else "ends"
    if more:
        msg = (f"decode {what} at {at:.1f} s; resynced past it: analysed "
               f"{(got + more) / native:.1f} of {total:.1f} s")
    else:
        msg = f"decode {what} at {at:.1f} s of {total:.1f} s: analysed the first {at:.1f} s"
    warnings.warn(DecodeWarning(path, msg), stacklevel=2)


def _frames_past_damage(container, stream, max_bad: int = 10_000):
    """Decoded frames, packet by packet: a packet that fails to decode (damage) is skipped,
    not the end (at most ``max_bad`` of them)."""
    import av

    bad = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            bad += 1
            if bad > max_bad:
                return
            continue
        yield from frames


def chained_ogg_warning(path, analysed: float) -> None:
    """One ``DecodeWarning`` when ``path`` is a chained Ogg (a second logical stream after
    the first, e.g. another song or another rate appended): libsndfile decodes the first
    stream only."""
    if Path(path).suffix.lower() not in (".ogg", ".oga", ".opus"):
        return
    links = ogg_chain_links(path)
    if links > 1:
        import warnings

        warnings.warn(DecodeWarning(path, f"a chained Ogg of {links} streams: only the first "
                                          f"was analysed ({analysed:.1f} s)"), stacklevel=2)


def ogg_chain_links(path) -> int:
    """How many chained logical streams an Ogg file has (1 for an ordinary file): a
    beginning-of-stream page after the first stream's header pages starts another link.
    A byte search (memory-mapped), no decode."""
    import mmap

    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            i = m.find(b"OggS\x00")
            while i >= 0 and i + 5 < len(m) and m[i + 5] & 0x02:  # the grouped BOS pages
                i = m.find(b"OggS\x00", i + 1)
            links = 1
            while i >= 0:
                i = m.find(b"OggS\x00\x02", i + 1)
                if i >= 0:
                    links += 1
            return links
    except (OSError, ValueError):
        return 1


def _pyav_source(path: Path, max_duration):
    import av

    try:
        container = av.open(str(path))
    except Exception:  # noqa: BLE001 - the one-shot path says what is wrong
        return None
    streams = container.streams.audio
    native = None
    if streams and container.duration and container.duration / 1_000_000 > STREAM_ABOVE:
        native = streams[0].codec_context.sample_rate or streams[0].rate
    if not native:
        container.close()
        return None
    limit = None if not max_duration else int(round(max_duration * native))

    def blocks():
        # frames (1024 samples) gathered in FFmpeg's own FIFO and taken out 10 s at a time:
        # a resampler call, or even a numpy array, per frame costs more than it saves
        fifo, got = av.AudioFifo(), 0
        per_block = int(BLOCK_SECONDS * native)

        def take(n):
            frame = fifo.read(n)
            return to_float_planar(frame.to_ndarray(), frame.format.name,
                                   len(frame.layout.channels))

        def wanted():
            return per_block if limit is None else min(per_block, limit - got)

        try:
            for frame in container.decode(streams[0]):
                frame.pts = None  # a gap in the timestamps is no reason to stop
                fifo.write(frame)
                while wanted() > 0 and fifo.samples >= wanted():
                    n = wanted()
                    yield take(n)
                    got += n
                if limit is not None and got >= limit:
                    break
        except AudioLoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - damaged midway: what decoded is used
            if not got and not fifo.samples:
                raise AudioLoadError(path, f"corrupt or unsupported codec ({exc})") from None
        finally:
            container.close()
        rest = fifo.samples if limit is None else min(fifo.samples, limit - got)
        if rest > 0:
            yield take(rest)

    return Source(path, native, blocks())


def stream_checked(source: Source, sr: int, *, min_duration: float) -> np.ndarray:
    """Mono float32 at ``sr`` of a long file, refused as ``audio.load_checked`` refuses (too
    short, silent, constant, non-finite): the one-shot path's samples (scaled by the
    whole file's peak where it passes full scale), never the file whole at its source
    rate."""
    acc = _Mono(source.path, source.native, sr)
    out = [acc.add(block) for block in source.blocks]
    out.append(acc.flush())
    acc.check(min_duration)
    return _leveled(np.concatenate(out), acc.scale)


def iter_checked(source: Source, sr: int, *, min_duration: float) -> Iterator[np.ndarray]:
    """The same signal as :func:`stream_checked`, chunk by chunk as it decodes (bounded
    memory, whatever the length); the refusals come at the end, after the last chunk.

    One difference: a chunk is scaled by the peak *so far* (the whole file's is not known
    yet), so a float file past full scale whose loudest sample is not in its first block
    is heard slightly louder before it than the one-shot path hears it. Files within full
    scale (all integer formats, nearly all lossy ones) are exactly the same samples."""
    acc = _Mono(source.path, source.native, sr)
    for block in source.blocks:
        chunk = acc.add(block)
        if len(chunk):
            yield _leveled(chunk, acc.scale)
    yield _leveled(acc.flush(), acc.scale)
    acc.check(min_duration)


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
