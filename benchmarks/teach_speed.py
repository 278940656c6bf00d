"""Refit + re-rank time of the teach loop's selection on a large library: synthetic
200-d song embeddings (a pool of --pool songs in --genres clusters), --labels labelled,
the next song asked for after each new label (``genrekit.teach.select.select``, n=1), as
the teach page does. Prints the median and worst time over --repeat labels, warm.

Usage: python benchmarks/teach_speed.py [--pool 10000] [--labels 100] [--repeat 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> None:
    from genrekit.features.parallel import one_blas_thread
    from genrekit.teach.select import select

    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--labels", type=int, default=100)
    ap.add_argument("--genres", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1.5, (a.genres, 200))
    g = rng.integers(a.genres, size=a.pool)
    Z = (centres[g] + rng.normal(0, 1, (a.pool, 200))).astype(np.float32)
    labels = [None] * a.pool
    for i in rng.choice(a.pool, a.labels, replace=False):
        labels[i] = int(g[i])
    for name, ctx in (("BLAS default threads", None), ("one BLAS thread", one_blas_thread)):
        times = []
        for r in range(a.repeat + 1):
            t = time.perf_counter()
            if ctx is None:
                (i,) = select(Z, labels, 1, seed=r)
            else:
                with ctx():
                    (i,) = select(Z, labels, 1, seed=r)
            times.append(time.perf_counter() - t)
            labels[i] = int(g[i])  # the user answers; the next pick refits on it
        ms = 1000 * np.array(times[1:])
        print(f"{name}: refit + re-rank of {a.pool} songs with {a.labels}+ labels: median "
              f"{np.median(ms):.0f} ms, worst {ms.max():.0f} ms (n=1 a step, "
              f"{a.repeat} steps)")


if __name__ == "__main__":
    main()
