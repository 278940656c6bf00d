"""Prediction speed, memory and install size of the bundled model on shared GTZAN clips,
side by side in one run: the shipped default (and, where an int8 graph ships and runs,
the same model's float ONNX beside it), optionally the code and model of an earlier commit
(``--before REV``), and a plain librosa load + mel of the same clips.

Prints per side: warm per-clip latency, batch throughput with ``--jobs 2`` (clips/s),
cold start of ``genrekit predict one.ogg`` as a process (bytecode compiled first, as an
installed package has it), peak RSS; and the size on disk of a base install (a fresh
virtualenv with the wheel and no extras, ``--base-venv``, built on first use: needs the
package index) with its own cold start. The sides run as long-lived processes that take
turns, round after round (``--rounds``), and the best round of each is kept: this machine's
load comes in bursts of tens of percent, and sides measured one after the other can differ
by that much for no reason of their own.

``--set LEVEL``: the current code's sides also give each song its conformal prediction set
(novelty and "unknown" are always on where the model has a novelty model); the line
"added per clip" is the warm latency difference to ``--before`` in ms.

Usage: python benchmarks/predict.py [--n 16] [--rounds 5] [--before d6825d1] [--base-venv DIR]
       [--set 0.9]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import gtzan_clips

ROOT = Path(__file__).resolve().parents[1]

# Each side is a process that loads once, then answers commands from stdin, one line each:
# "warm" times one pass over the clips (s per clip), "batch" one predict_many with jobs=2
# (clips/s), "rss" its peak RSS (MB). The sides take turns round after round, so a burst of
# load on this shared machine hits every side alike; the best round of each is reported.
SERVE = """
import sys, time, resource
def serve(warm, batch):
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "warm":
            t = time.perf_counter(); warm(); out = (time.perf_counter() - t) / len(paths)
        elif cmd == "batch":
            t = time.perf_counter(); batch(); out = len(paths) / (time.perf_counter() - t)
        elif cmd == "rss":
            out = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        else:
            break
        print(out, flush=True)
"""

LIBROSA_SIDE = SERVE + """
import librosa
paths = sys.argv[1:]
def warm():
    for p in paths:
        y, sr = librosa.load(p, sr=22050, mono=True)
        librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128))
warm()
serve(warm, lambda: float("nan"))
"""

GENREKIT_SIDE = SERVE + """
import os
from genrekit import GenreClassifier
model, paths = sys.argv[1], sys.argv[2:]  # model "-": the bundled default as shipped
level = os.environ.get("GENREKIT_BENCH_SET")  # current code only: prediction sets too
kw = {"set_level": float(level)} if level else {}
clf = (GenreClassifier.load(model, **kw) if model != "-" else
       GenreClassifier.from_pretrained(**kw))
clf.predict(paths[0])  # warm-up
def warm():
    for p in paths:
        clf.predict(p)
serve(warm, lambda: list(clf.predict_many(paths, jobs=2)))
"""


class Side:
    """One side's long-lived process (see SERVE)."""

    def __init__(self, code, *args, python=sys.executable, env=None):
        self.proc = subprocess.Popen([str(python), "-c", code, *map(str, args)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, cmd: str) -> float:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"a benchmark side died (exit {self.proc.wait()})")
        return float(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def rounds(sides: dict, cmd: str, n: int, best=min) -> dict:
    """``cmd`` on every side in turn, ``n`` rounds; each side's best value."""
    got: dict = {name: [] for name in sides}
    for _ in range(n):
        for name, side in sides.items():
            got[name].append(side.ask(cmd))
    return {name: best(v) for name, v in got.items()}


def cold(cmd, env=None, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, stdin=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def du_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            p = Path(root) / f
            if not p.is_symlink():
                total += p.stat().st_size
    return total / 1e6


def source_state() -> str:
    """The commit and the uncommitted changes of this checkout (what a wheel would hold)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    diff = subprocess.run([*git, "diff", "HEAD", "--", "src", "pyproject.toml"],
                          capture_output=True).stdout
    return f"{head.strip()} {hashlib.sha256(diff).hexdigest()[:16]}"


def base_venv(path: Path) -> Path:
    """A virtualenv with genrekit's wheel and no extras, rebuilt when the source changed
    since it was made (a reused one would measure old code)."""
    py = path / "bin" / "python"
    stamp = path / "genrekit-source"
    state = source_state()
    if py.exists() and (not stamp.exists() or stamp.read_text() != state):
        shutil.rmtree(path)
    if not py.exists():
        with tempfile.TemporaryDirectory() as dist:
            shutil.rmtree(ROOT / "build", ignore_errors=True)  # stale package data ships
            subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                            "--outdir", dist, str(ROOT)], check=True, capture_output=True)
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
            (whl,) = Path(dist).glob("genrekit-*.whl")
            subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            str(whl)], check=True)
        stamp.write_text(state)
    return py


def before_tree(rev: str, where: Path) -> Path:
    """The ``src`` folder of commit ``rev`` (a git worktree), bytecode compiled."""
    if not where.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev],
                       check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(where / "src")], check=True)
    return where / "src"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5, help="turns each side takes (best kept)")
    ap.add_argument("--before", metavar="REV", help="also measure this commit's code and model")
    ap.add_argument("--base-venv", type=Path, help="measure a base install here (built once)")
    ap.add_argument("--set", type=float, default=None, metavar="LEVEL",
                    help="the current code's sides also compute prediction sets at LEVEL")
    a = ap.parse_args()
    paths = gtzan_clips(a.n)
    clip = str(paths[0])
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    from genrekit.inference.classifier import DEFAULT_ONNX, GenreClassifier

    shipped_graph = GenreClassifier.from_pretrained().source

    env = dict(os.environ)
    env.pop("GENREKIT_BENCH_SET", None)
    procs, colds = {}, {}
    if a.before:
        src = before_tree(a.before, Path(tempfile.gettempdir()) / f"genrekit-{a.before}")
        benv = {**env, "PYTHONPATH": str(src)}
        name = f"before ({a.before}, float)"
        procs[name] = Side(GENREKIT_SIDE, "-", *paths, env=benv)
        colds[name] = [sys.executable, "-m", "genrekit.cli", "predict", clip], benv
    if a.set is not None:  # the current code only (the sides below); cold CLI with --set
        env["GENREKIT_BENCH_SET"] = str(a.set)
    if shipped_graph != str(DEFAULT_ONNX):  # an int8 graph ships: the float one beside it
        procs["float ONNX now"] = Side(GENREKIT_SIDE, str(DEFAULT_ONNX), *paths)
        colds["float ONNX now"] = ([sys.executable, "-m", "genrekit.cli", "predict", clip,
                                    "--precision", "float"], env)
    shipped = f"shipped ({Path(shipped_graph).name})"
    procs[shipped] = Side(GENREKIT_SIDE, "-", *paths)
    colds[shipped] = [sys.executable, "-m", "genrekit.cli", "predict", clip,
                      *(["--set", str(a.set)] if a.set is not None else [])], env
    procs["librosa load+mel"] = Side(LIBROSA_SIDE, *paths)
    colds["librosa load+mel"] = [sys.executable, "-c", LIBROSA_SIDE, clip], env
    warm = rounds(procs, "warm", a.rounds)
    batch = rounds({k: v for k, v in procs.items() if "librosa" not in k}, "batch", a.rounds,
                   best=max)
    batch["librosa load+mel"] = float("nan")
    rss = rounds(procs, "rss", 1)
    for side in procs.values():
        side.close()
    c = {name: cold(cmd, env=e) for name, (cmd, e) in colds.items()}
    sides = {n: (warm[n], batch[n], rss[n], c[n]) for n in procs}
    lw = warm["librosa load+mel"]

    print(f"{len(paths)} clips of 30 s; 2 CPU cores; warm and jobs=2: best of {a.rounds} "
          "rounds taken in turn by every side; cold = best of 3, bytecode compiled")
    names = list(sides)
    print(f"{'measure':30s}" + "".join(f"{n:>26s}" for n in names))
    for i, label in enumerate(["warm per-clip latency (s)", "throughput, jobs=2 (clips/s)",
                               "peak RSS (MB)", "cold one-clip CLI (s)"]):
        print(f"{label:30s}" + "".join(f"{sides[n][i]:26.3f}" for n in names))
    ref = next(iter(sides))
    w0, b0 = sides[ref][0], sides[ref][1]
    print(f"shipped vs {ref}: warm latency {w0 / sides[shipped][0]:.2f}x faster, "
          f"throughput {sides[shipped][1] / b0:.2f}x")
    print(f"shipped warm latency / librosa load+mel: {sides[shipped][0] / lw:.2f}")
    if a.before:
        print(f"added per clip by the current code vs {ref}: "
              f"{1000 * (sides[shipped][0] - w0):+.1f} ms (warm, best rounds)")
    if a.base_venv:
        py = base_venv(a.base_venv)
        exe = py.parent / "genrekit"
        subprocess.run([str(py), "-m", "compileall", "-q", str(a.base_venv / "lib")],
                       capture_output=True)
        c = cold([str(exe), "predict", clip])
        base = Side(GENREKIT_SIDE, "-", *paths, python=py, env=env)
        bw = min(base.ask("warm") for _ in range(a.rounds))
        bb = max(base.ask("batch") for _ in range(a.rounds))
        br = base.ask("rss")
        base.close()
        print(f"base install (wheel, no extras) at {a.base_venv}: {du_mb(a.base_venv):.0f} MB "
              f"on disk; cold one-clip CLI {c:.3f} s; warm {bw:.3f} s/clip; jobs=2 "
              f"{bb:.2f} clips/s; peak RSS {br:.0f} MB")


if __name__ == "__main__":
    main()
