"""`genrekit preprocess --jobs 2` vs `--jobs 1` on 20 shared clips, measured in one run.

Prints wall time of each, the speed-up ratio (target >= 1.7x on 2 cores), and the time of
a rerun over the filled cache as a fraction of the first run (target < 10%).
Usage: python benchmarks/preprocess_jobs.py [--n 20] [--features mel,hpss]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import gtzan_clips


def run(src, cache, jobs, features):
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genrekit.cli", "preprocess", str(src), "--features",
                    features, "--cache-dir", str(cache), "--jobs", str(jobs)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--features", default="mel,hpss")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clips"
        src.mkdir()
        for p in gtzan_clips(a.n):  # links, not copies: the audio stays in shared/
            (src / p.name).symlink_to(p)
        t1 = run(src, Path(tmp) / "c1", 1, a.features)
        t2 = run(src, Path(tmp) / "c2", 2, a.features)
        t_re = run(src, Path(tmp) / "c2", 2, a.features)
    print(f"{a.n} clips, features {a.features}")
    print(f"jobs=1: {t1:7.2f} s  ({1000 * t1 / a.n:.0f} ms/clip)")
    print(f"jobs=2: {t2:7.2f} s  ({1000 * t2 / a.n:.0f} ms/clip)")
    print(f"speed-up jobs=2 / jobs=1: {t1 / t2:.2f}x")
    print(f"rerun over the filled cache: {t_re:.2f} s = {100 * t_re / t2:.1f}% of the first run")


if __name__ == "__main__":
    main()
