"""Whole songs, not 30 s clips: the bundled model on 4-minute and 20-minute 44.1 kHz stereo
mp3 (192 kbit/s) and m4a (AAC) files made from shared GTZAN clips (concatenated, resampled,
encoded with PyAV into --workdir; never into the repo), side by side in one run:

- genrekit warm per song (``GenreClassifier.predict`` in this process, best of --rounds);
- genrekit with ``predict_many(jobs=1)`` (a long file block by block, decode read ahead in
  a thread) and ``jobs=2`` (two worker processes) on --copies copies of the 4-minute
  files: songs/s;
- peak RSS of a fresh ``genrekit predict FILE`` process per file (bytecode compiled);
- the yardsticks on the same file: soundfile (libsndfile) decode, PyAV decode, and
  ``librosa.load`` (its default 22.05 kHz mono; nan where it has no backend: m4a without
  an ffmpeg binary).

- a mix of --uncapped minutes (mp3) through ``genrekit predict --max-duration 0``: wall
  time and peak RSS of the process, and how far its timeline reaches.

Usage: python benchmarks/full_songs.py [--workdir /tmp/genrekit-full-songs] [--rounds 3]
       [--copies 8] [--minutes 4,20] [--uncapped 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _shared import GTZAN

ROOT = Path(__file__).resolve().parents[1]


def make_song(path: Path, minutes: float, codec: str) -> Path:
    """``minutes`` of 44.1 kHz stereo from consecutive GTZAN clips, encoded with PyAV."""
    import av
    import soundfile as sf
    import soxr

    if path.exists():
        return path
    clips = sorted(GTZAN.glob("*/*.ogg"))
    need, parts, i = int(minutes * 60 * 44100), [], 0
    while sum(len(p) for p in parts) < need:
        y, sr = sf.read(clips[(i * 7) % len(clips)], dtype="float32")
        y = y if y.ndim == 1 else y.mean(1)
        parts.append(soxr.resample(y, sr, 44100).astype(np.float32))
        i += 1
    mono = np.concatenate(parts)[:need]
    st = np.stack([mono, np.roll(mono, 441)], 0)  # a stereo image: 10 ms apart
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="mp3" if codec == "mp3" else "ipod") as c:
        s = c.add_stream("mp3" if codec == "mp3" else "aac", rate=44100)
        s.layout, s.bit_rate = "stereo", 192_000
        step = 1152 if codec == "mp3" else 1024
        for k in range(0, st.shape[1], step):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(st[:, k:k + step]),
                                            format="fltp", layout="stereo")
            fr.sample_rate, fr.pts = 44100, k
            for pkt in s.encode(fr):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    os.replace(tmp, path)
    return path


def best(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def decode_sf(p):
    import soundfile as sf

    sf.read(str(p), dtype="float32")


def decode_av(p):
    import av

    with av.open(str(p)) as c:
        for _ in c.decode(c.streams.audio[0]):
            pass


def peak_rss_mb(argv) -> float:
    """Peak RSS of one child process running ``argv`` (MB), through /usr/bin/time: the
    kernel keeps ru_maxrss across exec, so a child forked from this (large) benchmark
    process would report this process's size; time(1) forks it from a small one."""
    import shutil

    time_bin = shutil.which("time") or "/usr/bin/time"
    if not os.path.exists(time_bin):
        return float("nan")
    r = subprocess.run([time_bin, "-f", "%M", *argv], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{argv} failed: {r.stderr[-500:]}")
    return int(r.stderr.strip().splitlines()[-1]) / 1024


def main(argv=None) -> None:
    import librosa

    from genrekit import GenreClassifier

    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default="/tmp/genrekit-full-songs")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--copies", type=int, default=8)
    ap.add_argument("--minutes", default="4,20")
    ap.add_argument("--uncapped", type=float, default=60.0,
                    help="also a mix this many minutes long (mp3) through `genrekit predict "
                         "--max-duration 0`: wall time and peak RSS (0: skip)")
    a = ap.parse_args(argv)
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    files = [make_song(work / f"song{m}min.{codec}", float(m), codec)
             for m in a.minutes.split(",") for codec in ("mp3", "m4a")]
    clf = GenreClassifier.from_pretrained()
    clf.predict(files[0])  # warm-up
    print(f"2 CPU cores; best of {a.rounds}; files in {work}")
    print(f"{'file':18s}{'genrekit warm s':>17s}{'soundfile s':>13s}{'PyAV s':>9s}"
          f"{'librosa.load s':>16s}{'x soundfile':>13s}{'peak RSS MB':>13s}")
    for p in files:
        g = best(lambda p=p: clf.predict(p), a.rounds)
        try:
            s = best(lambda p=p: decode_sf(p), a.rounds)
        except Exception:  # noqa: BLE001 - libsndfile reads no m4a
            s = float("nan")
        v = best(lambda p=p: decode_av(p), a.rounds)
        try:
            lr = best(lambda p=p: librosa.load(str(p)), 1)
        except Exception:  # noqa: BLE001 - no audioread backend for m4a without ffmpeg
            lr = float("nan")
        rss = peak_rss_mb([sys.executable, "-m", "genrekit.cli", "predict", str(p)])
        ref = s if s == s else v
        print(f"{p.name:18s}{g:17.3f}{s:13.3f}{v:9.3f}{lr:16.3f}{g / ref:13.2f}{rss:13.0f}")
    four = [p for p in files if p.name.startswith("song4min")]
    for p in four:
        paths = [p] * a.copies
        for jobs in (1, 2):
            t = time.perf_counter()
            for _ in clf.predict_many(paths, jobs=jobs):
                pass
            print(f"jobs={jobs}, {a.copies} x {p.name}: "
                  f"{a.copies / (time.perf_counter() - t):.2f} songs/s")
    if a.uncapped:
        p = make_song(work / f"song{a.uncapped:g}min.mp3", a.uncapped, "mp3")
        out = work / "uncapped.json"
        argv = [sys.executable, "-m", "genrekit.cli", "predict", str(p), "--max-duration", "0",
                "--format", "json", "--timeline", "--out", str(out)]
        t = time.perf_counter()
        rss = peak_rss_mb(argv)
        wall = time.perf_counter() - t
        import json

        pred = json.loads(out.read_text())["predictions"][0]
        print(f"{p.name} --max-duration 0: {wall:.2f} s wall (cold process), peak RSS "
              f"{rss:.0f} MB, {len(pred['timeline'])} slices, timeline to "
              f"{pred['timeline'][-1]['end']:.0f} s of {pred['duration']:.0f} s")
    print("(x soundfile: genrekit warm / the soundfile decode of the same file; PyAV's for "
          "m4a, which libsndfile cannot read)")


if __name__ == "__main__":
    main()
