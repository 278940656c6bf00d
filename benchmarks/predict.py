"""Prediction speed and memory of the bundled model on shared GTZAN clips, each next to a
plain librosa load + mel of the same clips, measured in one run.

Prints: warm per-clip latency, batch throughput (clips/s), cold start of
`genrekit predict one.ogg` as a process, and peak RSS of each side.
Usage: python benchmarks/predict.py [--n 16] [--model PATH]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from _shared import gtzan_clips

LIBROSA_SIDE = """
import sys, time, resource, librosa
paths = sys.argv[1:]
t = time.perf_counter()
for p in paths:
    y, sr = librosa.load(p, sr=22050, mono=True)
    librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128))
dt = time.perf_counter() - t
print(dt / len(paths), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

GENREKIT_SIDE = """
import sys, time, resource
from genrekit import GenreClassifier
model = sys.argv[1] if sys.argv[1] != "-" else None
paths = sys.argv[2:]
clf = GenreClassifier.load(model) if model else GenreClassifier.from_pretrained()
clf.predict(paths[0])  # warm-up
t = time.perf_counter()
for p in paths:
    clf.predict(p)
single = (time.perf_counter() - t) / len(paths)
t = time.perf_counter()
list(clf.predict_many(paths, jobs=2))
batch = len(paths) / (time.perf_counter() - t)
print(single, batch, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run_py(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                         text=True, check=True)
    return [float(v) for v in out.stdout.split()]


def cold(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--model", default="-")
    a = ap.parse_args()
    paths = gtzan_clips(a.n)
    lib_per_clip, lib_rss = run_py(LIBROSA_SIDE, *paths)
    single, batch, gk_rss = run_py(GENREKIT_SIDE, a.model, *paths)
    model_args = [] if a.model == "-" else ["--model", a.model]
    gk_cold = min(cold([sys.executable, "-m", "genrekit.cli", "predict", str(paths[0]),
                        *model_args]) for _ in range(2))
    lib_cold = min(cold([sys.executable, "-c", LIBROSA_SIDE, str(paths[0])]) for _ in range(2))
    help_cold = min(cold([sys.executable, "-m", "genrekit.cli", "--help"]) for _ in range(2))
    print(f"{len(paths)} clips of 30 s")
    print(f"{'measure':34s} {'genrekit':>10s} {'librosa load+mel':>17s} {'ratio':>7s}")
    rows = [("warm per-clip latency (s)", single, lib_per_clip),
            ("cold start, one clip, process (s)", gk_cold, lib_cold),
            ("peak RSS (MB)", gk_rss, lib_rss)]
    for name, g, lib in rows:
        print(f"{name:34s} {g:10.3f} {lib:17.3f} {g / lib:7.2f}")
    print(f"batch throughput, jobs=2: {batch:.2f} clips/s; `genrekit --help`: {help_cold:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"(largest child RSS seen: {peak:.0f} MB)")


if __name__ == "__main__":
    main()
