"""Audio decoding: any common file to mono float32 at a fixed sample rate.

soundfile (libsndfile) reads wav/flac/ogg/mp3/aiff/au and seeks without decoding the whole
file; everything else (m4a, aac, opus, wma, video containers) goes through PyAV (FFmpeg).
Resampling is soxr's high-quality mode. Every failure is an :class:`AudioLoadError` that
names the file and the reason.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .audio_stream import check_extremes, mono_sum
from .errors import AudioLoadError, ParameterError

#: Extensions read through soundfile first (PyAV is the fallback for everything).
SOUNDFILE_EXTS = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".au",
                            ".snd", ".w64", ".rf64", ".caf"})
#: Every extension genrekit treats as audio when it scans folders.
AUDIO_EXTS = SOUNDFILE_EXTS | frozenset({".m4a", ".aac", ".opus", ".wma", ".mp4", ".mkv",
                                         ".webm", ".mov", ".ac3", ".alac", ".ape", ".mka"})


def is_audio_path(path) -> bool:
    return Path(path).suffix.lower() in AUDIO_EXTS


def load_audio(path, sr: int | None = 22050, mono: bool = True, offset: float = 0.0,
               duration: float | None = None) -> tuple[np.ndarray, int]:
    """Decode ``path`` to float32 samples.

    Args:
        path: audio or video file.
        sr: target sample rate in Hz (``None`` keeps the file's own rate).
        mono: average the channels to one.
        offset: start time in seconds; only the window from here is decoded.
        duration: seconds to read from ``offset`` (``None``: to the end).

    Returns:
        ``(y, sr)``: ``y`` is ``[n]`` when ``mono`` else ``[channels, n]``, float32 in [-1, 1].

    Raises:
        AudioLoadError: not found, empty, not audio, corrupt, unsupported codec, no samples.
        ParameterError: a negative offset/duration or a non-positive ``sr``.
    """
    if sr is not None and sr <= 0:
        raise ParameterError(f"sr must be a positive number of Hz or None, got {sr!r}")
    if offset < 0:
        raise ParameterError(f"offset must be >= 0 seconds, got {offset!r}")
    if duration is not None and duration <= 0:
        raise ParameterError(f"duration must be > 0 seconds or None, got {duration!r}")
    y, native_sr = _decode(Path(path), offset, duration)
    return _conform(y, native_sr, sr, mono)


def _decode(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    """``path`` -> ``(y [channels, n], native_sr)``, every sample finite, at least one."""
    check_regular_file(path)

    y = native_sr = None
    if path.suffix.lower() in SOUNDFILE_EXTS:
        try:
            y, native_sr = _read_soundfile(path, offset, duration)
        except AudioLoadError:
            raise
        except Exception:  # libsndfile's messages are poor; try FFmpeg before failing
            pass
    if y is None:
        y, native_sr = _read_pyav(path, offset, duration)

    if y.shape[-1] == 0:
        raise AudioLoadError(path, "no audio samples (zero-length stream"
                             + (" or offset past the end)" if offset > 0 else ")"))
    if not np.all(np.isfinite(y)):
        raise AudioLoadError(path, "corrupt: decoded samples contain NaN or infinity")
    return y, native_sr


def _conform(y: np.ndarray, native_sr: int, sr: int | None, mono: bool):
    """``y [channels, n]`` at ``native_sr`` -> ``(y, sr)`` as ``load_audio`` returns it: in
    [-1, 1] (scaled by its peak past full scale), mono if asked, resampled to ``sr``."""
    return _to_rate(_mix(y, mono), native_sr, sr, mono)


def _mix(y: np.ndarray, mono: bool) -> np.ndarray:
    """``[channels, n]`` within full scale, the channels averaged to one if ``mono``
    (``audio_stream.mono_sum``: the streamed path's mix too)."""
    y = _within_full_scale(y)
    return mono_sum(y)[None] if mono and y.shape[0] > 1 else y


def _to_rate(y: np.ndarray, native_sr: int, sr: int | None, mono: bool):
    if sr is not None and sr != native_sr:
        y = resample(y, native_sr, sr)
        if np.abs(y).max(initial=0.0) > 1.0:  # the resampler's overshoot near full scale
            y = np.clip(y, -1.0, 1.0)
    else:
        sr = native_sr
    return np.ascontiguousarray(y[0] if mono else y, dtype=np.float32), int(sr)


def check_regular_file(path: Path) -> None:
    """Refuse, without opening it, anything that is not a readable regular file: a FIFO or
    socket would block a reader forever, a device or folder is no audio.

    Raises:
        AudioLoadError: not found (a dangling or looping link too), not a regular file,
            empty.
    """
    from .fileio import not_a_regular_file

    if why := not_a_regular_file(path, "an audio file"):
        raise AudioLoadError(path, why)
    if os.path.getsize(path) == 0:
        raise AudioLoadError(path, "empty file (0 bytes)")


def _within_full_scale(y: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1], as documented: a float file whose samples go past full scale
    (an unnormalised export) is scaled down by its peak, so its level cannot change what the
    model hears beyond what a normalised copy would."""
    peak = max(float(y.max()), -float(y.min())) if y.size else 0.0  # no |y| temporary
    return y / peak if peak > 1.0 else y


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality (soxr 'HQ') resampling along the last axis; float32 in, float32 out."""
    import soxr

    if orig_sr == target_sr:
        return y.astype(np.float32, copy=False)
    if y.ndim == 1:
        return soxr.resample(y, orig_sr, target_sr, quality="HQ").astype(np.float32)
    out = soxr.resample(np.ascontiguousarray(y.T), orig_sr, target_sr, quality="HQ")
    return np.ascontiguousarray(np.atleast_2d(out.T), dtype=np.float32)


def _read_soundfile(path: Path, offset: float, duration: float | None):
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        native_sr = f.samplerate
        start = int(round(offset * native_sr))
        if f.frames and start >= f.frames:
            return np.zeros((f.channels, 0), np.float32), native_sr
        if start:
            f.seek(start)
        frames = -1 if duration is None else int(round(duration * native_sr))
        data = f.read(frames, dtype="float32", always_2d=True)
    return data.T, native_sr


def _import_av():
    import av

    return av


def _read_pyav(path: Path, offset: float, duration: float | None):
    from .audio_stream import to_float_planar

    av = _import_av()
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise AudioLoadError(path, "not a recognised audio file (no decoder could read "
                                   f"it: {_short(exc)})") from None
    try:
        streams = container.streams.audio
        if not streams:
            raise AudioLoadError(path, "no audio stream in the container")
        stream = streams[0]
        native_sr = stream.codec_context.sample_rate or stream.rate
        if not native_sr:
            raise AudioLoadError(path, "unsupported codec (no sample rate)")
        if offset > 0:
            container.seek(int(offset * 1_000_000), any_frame=False, backward=True)
        end = None if duration is None else offset + duration
        chunks, got_time, n_got = [], None, 0
        try:
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                arr = to_float_planar(arr, frame.format.name, len(frame.layout.channels))
                t0 = float(frame.time) if frame.time is not None else None
                if got_time is None:
                    got_time = t0 if t0 is not None else 0.0
                    if t0 is not None and offset > 0 and t0 < offset:  # trim to the exact start
                        arr = arr[:, int(round((offset - t0) * native_sr)):]
                        got_time = offset
                chunks.append(arr)
                n_got += arr.shape[1]
                if end is not None and got_time + n_got / native_sr >= end:
                    break
        except AudioLoadError:
            raise
        except Exception as exc:
            if not chunks:
                reason = f"corrupt or unsupported codec ({_short(exc)})"
                raise AudioLoadError(path, reason) from None
        if not chunks:
            return np.zeros((1, 0), np.float32), native_sr
        y = np.concatenate(chunks, axis=1)
        if duration is not None:
            y = y[:, : int(round(duration * native_sr))]
        return y, native_sr
    finally:
        container.close()


def _short(exc: BaseException | None) -> str:
    """One line of a decoder's message, without the file name it repeats."""
    text = str(exc).strip().splitlines()[0] if exc and str(exc).strip() else type(exc).__name__
    text = re.sub(r"^Error opening '.*?': ", "", text)  # libsndfile
    text = re.sub(r":\s*'[^']*'$", "", text)  # FFmpeg: "[Errno 1094995529] Invalid data...: 'path'"
    text = re.sub(r"\s*\(?possibly a pipe\??\)?", "", text)  # libsndfile's guess, untrue here
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)[:160]


# --- the decode policy: what every engine, the classifier and the server refuse ----------
#: Shorter decoded audio than this is refused (too little music to say a genre).
DEFAULT_MIN_DURATION = 1.0
#: Only the first this-many seconds of a longer file are decoded (a 2-hour mix is not loaded).
DEFAULT_MAX_DURATION = 600.0
# SILENCE_PEAK (-80 dBFS: below it, silence) lives in audio_stream, with the rule itself


def check_signal(y, sr: int, path, *, min_duration: float = DEFAULT_MIN_DURATION) -> None:
    """Refuse audio that cannot carry a genre: too short, or silent.

    Raises:
        AudioLoadError: naming ``path`` (or ``<array>``) and the reason.
    """
    seconds = len(y) / sr
    if not len(y):  # only too short can be said of no samples
        check_extremes(path, seconds, np.inf, np.inf, min_duration)
        return
    check_extremes(path, seconds, float(np.max(np.abs(y))), float(np.ptp(y)), min_duration)


def array_audio(y, sr: int | None, target_sr: int, *,
                max_duration: float | None = DEFAULT_MAX_DURATION,
                min_duration: float = DEFAULT_MIN_DURATION) -> np.ndarray:
    """A caller's array (``[n]`` or ``[channels, n]`` at rate ``sr``, never assumed) under
    the same policy as a file: at most ``max_duration`` s, in [-1, 1], mono, resampled to
    ``target_sr``, refused when it cannot carry a genre."""
    if sr is None:
        raise ParameterError("sr is required with an array: pass the rate the "
                             "samples were recorded at (never assumed)")
    y = np.asarray(y, dtype=np.float32)
    y = y[None] if y.ndim == 1 else y
    if max_duration:
        y = y[:, : int(max_duration * sr)]
    if not np.all(np.isfinite(y)):
        raise AudioLoadError("<array>", "the samples contain NaN or infinity")
    return _checked_at_rate(y, sr, target_sr, "<array>", min_duration)


def load_checked(path, sr: int, *, min_duration: float = DEFAULT_MIN_DURATION,
                 max_duration: float | None = DEFAULT_MAX_DURATION) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sr`` (at most ``max_duration`` s) and refuse
    audio that cannot carry a genre (see :func:`check_signal`). A long file is decoded
    in blocks (``audio_stream``): the same samples, a fraction of the memory."""
    from .audio_stream import stream_checked

    path, source = _probe(path, max_duration)
    if source is not None:  # long: in blocks, never whole at the source rate
        return stream_checked(source, sr, min_duration=min_duration)
    return _load_whole(path, sr, min_duration, max_duration)


def open_checked(path, sr: int, *, min_duration: float = DEFAULT_MIN_DURATION,
                 max_duration: float | None = DEFAULT_MAX_DURATION):
    """What :func:`load_checked` gives, for a consumer that can take a long file in
    pieces: a short file's samples (one array), or a long file's mono float32 chunks at
    ``sr`` as they decode (an iterator: ``audio_stream.iter_checked``, bounded memory at any
    length, the refusals after the last chunk). The file is probed once."""
    from .audio_stream import iter_checked

    path, source = _probe(path, max_duration)
    if source is not None:
        return iter_checked(source, sr, min_duration=min_duration)
    return _load_whole(path, sr, min_duration, max_duration)


def _probe(path, max_duration: float | None):
    """``(path, audio_stream.Source of a long file or None)``, once the path is known to be
    a readable regular file."""
    from .audio_stream import open_source

    path = Path(path)
    check_regular_file(path)
    return path, open_source(path, SOUNDFILE_EXTS, max_duration)


def _load_whole(path: Path, sr: int, min_duration: float, max_duration: float | None):
    from .audio_stream import chained_ogg_warning

    y, native_sr = _decode(path, 0.0, max_duration)
    out = _checked_at_rate(y, native_sr, sr, path, min_duration)
    chained_ogg_warning(path, y.shape[-1] / native_sr)
    return out


def _checked_at_rate(y: np.ndarray, native_sr: int, sr: int, name, min_duration: float):
    """Refuse on the signal as recorded, then resample: a resampler's edge transient must
    not make a silent or constant signal look like sound."""
    y = _mix(y, mono=True)
    check_signal(y[0], native_sr, name, min_duration=min_duration)
    return _to_rate(y, native_sr, sr, mono=True)[0]
