"""Long files decoded in blocks: mixed to mono and resampled (soxr's streaming resampler)
block by block, so a song is never held whole at its source rate and channel count.

A 10-minute 44.1 kHz stereo window is 212 MB of float32 at the source; streamed, the peak
is one block (10 s: 3.5 MB) plus the result at the model's rate (600 s at 16 kHz: 38 MB).
The decode policy is the same as ``audio.load_checked``'s: the silence and DC checks read
the mono signal as recorded (running extremes), a file past full scale is scaled by its
peak (after resampling: every step is linear, so this equals scaling first to float
rounding), the resampler's overshoot is clipped.

Only files libsndfile reads, longer than ``STREAM_ABOVE`` seconds, take this path; shorter
ones keep the one-shot path, sample for sample as before. ``audio.load_checked`` calls it
and hands it the policy's values (this module imports nothing of ``audio``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import AudioLoadError

#: files longer than this (seconds) are streamed
STREAM_ABOVE = 120.0
#: seconds of source audio decoded at a time
BLOCK_SECONDS = 10.0


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


def stream_checked(path: Path, sr: int, *, min_duration: float, max_duration: float | None,
                   silence_peak: float) -> np.ndarray:
    """Mono float32 at ``sr`` of (at most ``max_duration`` s of) a long file, refused as
    ``audio.load_checked`` refuses (too short, silent, constant, non-finite)."""
    import soundfile as sf
    import soxr

    out, lo, hi, peak, n_src = [], np.inf, -np.inf, 0.0, 0
    with sf.SoundFile(str(path)) as f:
        native = f.samplerate
        limit = f.frames if not max_duration else min(f.frames, int(round(max_duration * native)))
        rs = soxr.ResampleStream(native, sr, 1, dtype="float32", quality="HQ") \
            if native != sr else None
        try:
            blocks = f.blocks(blocksize=int(BLOCK_SECONDS * native), frames=limit,
                              dtype="float32", always_2d=True)
            for block in blocks:
                if not np.all(np.isfinite(block)):
                    raise AudioLoadError(path, "corrupt: decoded samples contain NaN or "
                                               "infinity")
                peak = max(peak, float(block.max()), -float(block.min()))
                mono = block[:, 0].copy()
                for c in range(1, block.shape[1]):
                    mono += block[:, c]
                if block.shape[1] > 1:
                    mono /= np.float32(block.shape[1])
                lo, hi = min(lo, float(mono.min())), max(hi, float(mono.max()))
                n_src += len(mono)
                out.append(rs.resample_chunk(mono) if rs else mono)
        except AudioLoadError:
            raise
        except Exception:  # noqa: BLE001 - a file damaged midway: what decoded is used
            if not n_src:
                raise
        if rs is not None:
            out.append(rs.resample_chunk(np.zeros(0, np.float32), last=True))
    scale = 1.0 / peak if peak > 1.0 else 1.0  # a float file past full scale
    _check(path, n_src / native, lo * scale, hi * scale, min_duration, silence_peak)
    y = np.concatenate(out) if out else np.zeros(0, np.float32)
    if scale != 1.0:
        y *= np.float32(scale)
    if len(y) and max(float(y.max()), -float(y.min())) > 1.0:  # the resampler's overshoot
        np.clip(y, -1.0, 1.0, out=y)
    return np.ascontiguousarray(y, dtype=np.float32)


def _check(path, seconds: float, lo: float, hi: float, min_duration: float,
           silence_peak: float) -> None:
    """``audio.check_signal`` from running extremes of the mono signal as recorded."""
    if seconds < min_duration:
        raise AudioLoadError(path, f"too short: {seconds:.2f} s of audio, need at least "
                                   f"{min_duration:g} s")
    if max(abs(lo), abs(hi)) < silence_peak:
        raise AudioLoadError(path, "silent: the peak level is below -80 dBFS")
    if hi - lo < 2 * silence_peak:
        raise AudioLoadError(path, "no sound: the signal is a constant (DC) level")
