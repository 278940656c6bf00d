"""Scale-out throughput, measured side by side in one run on N shared GTZAN clips:

1. `genrekit preprocess --engine ray` on a local Ray cluster of 1 and of 2 CPUs (fresh
   caches), and the local engine with --jobs 1 / 2 for reference;
2. `genrekit predict --engine ray` (bundled model, ONNX) with 1 and 2 CPUs;
3. `genrekit train --nproc 1` vs `--nproc 2` (torch DDP, gloo): one epoch of `cnn` on the
   cached features (wall time of the whole command, start-up included);
then the per-song costs and storage that docs/scaling.md extrapolates to 1M songs.

Ray rows also time a rerun over the filled cache (start-up, hashing, lookups: the fixed
cost) and print the steady rate N / (first - rerun).
Usage: python benchmarks/scaling.py [--n 40] [--skip-train]   (--n 0: the whole copy)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import GTZAN, gtzan_clips


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "genrekit.cli", *cmd], capture_output=True,
                       text=True)
    if r.returncode not in (0, 1):
        raise SystemExit(f"failed: genrekit {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t


def cache_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*.npy"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--skip-train", action="store_true")
    a = ap.parse_args()
    clips = gtzan_clips(a.n or None)
    seconds = 30.0 * len(clips)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "clips"
        src.mkdir()
        for c in clips:
            os.symlink(c, src / c.name)
        for feats in ("mel,hpss", "mel_logc"):
            extra = ["--sr", "16000", "--n-fft", "512", "--hop-length", "256",
                     "--n-mels", "96"] if feats == "mel_logc" else []
            for engine, n in (("local", 1), ("local", 2), ("ray", 1), ("ray", 2)):
                cache = tmp / f"cache-{feats}-{engine}{n}"
                cmd = ["preprocess", str(src), "--features", feats, *extra, "--engine",
                       engine, "--jobs", str(n), "--cache-dir", str(cache)]
                t = timed(cmd)
                rows.append((f"preprocess {feats} {engine} x{n}", t, len(clips) / t))
                if engine == "ray":
                    fixed = timed(cmd)
                    rows.append(("  rerun (fixed cost); steady rate", fixed,
                                 len(clips) / max(t - fixed, 1e-9)))
            size = cache_bytes(cache) / len(clips)
            print(f"cached {feats} (float16): {size / 1e6:.2f} MB per 30 s clip", flush=True)
        for n in (1, 2):
            t = timed(["predict", str(src), "--engine", "ray", "--jobs", str(n), "--out",
                       str(tmp / f"pred{n}"), "--cache-dir", str(tmp / f"pcache{n}")])
            rows.append((f"predict (bundled model) ray x{n}", t, len(clips) / t))
        if not a.skip_train:
            train = [str(src.parent / "cat")]
            cat = src.parent / "cat"
            for c in clips:  # a folder per genre for `genrekit train`
                (cat / c.parent.name).mkdir(parents=True, exist_ok=True)
                os.symlink(c, cat / c.parent.name / c.name)
            for n in (1, 2):
                t = timed(["train", *train, "--out", str(tmp / f"ddp{n}"), "--arch", "cnn",
                           "--features", "mel,hpss", "--epochs", "1", "--nproc", str(n),
                           "--cache-dir", str(tmp / "cache-mel,hpss-local1"),
                           "--set", "train.valid_fraction=0.25"])
                rows.append((f"train cnn 1 epoch --nproc {n}", t, None))
    print(f"\n{len(clips)} clips of 30 s ({seconds / 60:.0f} min of audio) from {GTZAN}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'job':40s} {'wall s':>8s} {'clips/s':>8s}")
    for name, t, rate in rows:
        print(f"{name:40s} {t:8.2f} {rate if rate is not None else float('nan'):8.2f}")
    by = {r[0]: r[1] for r in rows}
    for prefix in ("preprocess mel,hpss ray x", "preprocess mel_logc ray x",
                   "predict (bundled model) ray x", "preprocess mel,hpss local x",
                   "preprocess mel_logc local x", "train cnn 1 epoch --nproc "):
        one, two = by.get(prefix + "1"), by.get(prefix + "2")
        if one and two:
            print(f"{prefix}: 2 workers / 1 worker speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
