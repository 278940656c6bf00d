"""`genrekit preprocess --jobs 2` vs `--jobs 1` on 20 shared clips, measured in one run.

Prints wall time of each, the speed-up ratio (target >= 1.7x on 2 cores), and the time of
a rerun over the filled cache as a fraction of the first run (target < 10%), for each
feature backend asked for (default: the fast default backend and the librosa reference).
With a GPU (or ``--device D``) it also times the torch backend batched on that device, all
cores decoding, against the fast backend on all cores.
Usage: python benchmarks/preprocess_jobs.py [--n 20] [--features mel,hpss]
       [--backends fast,reference] [--device auto|none|cuda|cpu]   (--n 0: whole copy)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import gtzan_clips


def run(src, cache, jobs, features, backend, device=None):
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genrekit.cli", "preprocess", str(src), "--features",
                    features, "--cache-dir", str(cache), "--jobs", str(jobs), "--backend",
                    backend, *(["--device", device] if device else [])], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def on_device(src, tmp, n, features, device):
    """The torch backend batched on ``device`` vs the fast backend, all cores each."""
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "none"
    if device == "none":
        return
    cores = os.cpu_count() or 1
    run(src, tmp / "dev-warm", cores, features, "torch", device)  # CUDA context, kernels
    t_fast = run(src, tmp / "fastN", cores, features, "fast")
    t_dev = run(src, tmp / "devN", cores, features, "torch", device)
    print(f"all {cores} cores decoding: fast backend {t_fast:.2f} s ({1000 * t_fast / n:.0f} "
          f"ms/clip), torch backend on {device} {t_dev:.2f} s ({1000 * t_dev / n:.0f} ms/clip): "
          f"{t_fast / t_dev:.2f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--features", default="mel,hpss")
    ap.add_argument("--backends", default="fast,reference")
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    clips = gtzan_clips(a.n or None)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clips"
        src.mkdir()
        for p in clips:  # links, not copies: the audio stays in shared/
            (src / p.name).symlink_to(p)
        warm = Path(tmp) / "warm"  # compile/load numba kernels once, outside the timings
        warm.mkdir()
        (warm / clips[0].name).symlink_to(clips[0])
        run(warm, Path(tmp) / "cw", 1, a.features, "fast")
        print(f"{len(clips)} clips, features {a.features}, {os.cpu_count()} cores")
        for backend in a.backends.split(","):
            t1 = run(src, Path(tmp) / f"{backend}1", 1, a.features, backend)
            t2 = run(src, Path(tmp) / f"{backend}2", 2, a.features, backend)
            t_re = run(src, Path(tmp) / f"{backend}2", 2, a.features, backend)
            print(f"backend {backend}: jobs=1 {t1:7.2f} s ({1000 * t1 / len(clips):.0f} ms/clip), "
                  f"jobs=2 {t2:7.2f} s ({1000 * t2 / len(clips):.0f} ms/clip): speed-up "
                  f"{t1 / t2:.2f}x; rerun over the filled cache {t_re:.2f} s = "
                  f"{100 * t_re / t2:.1f}% of the first run")
        on_device(src, Path(tmp), len(clips), a.features, a.device)


if __name__ == "__main__":
    main()
