"""One markdown table from one or more ``accuracy_cv.py`` reports (same k and seeds, so the
same folds): every row with its paired difference to the reference row.

Usage: python benchmarks/cv_table.py runs/cv/report-msd.json runs/cv/report-fusion.json
"""

from __future__ import annotations

import json
import sys

from accuracy_cv import REFERENCE


def main(paths) -> None:
    from genrekit.training.cv import paired_difference

    rows, setup = {}, None
    for p in paths:
        rep = json.load(open(p))
        if setup not in (None, (rep["k"], rep["seeds"])):
            raise SystemExit(f"{p}: other folds (k, seeds) than the first report")
        setup = (rep["k"], rep["seeds"])
        rows.update({r["recipe"]: r for r in rep["rows"]})
    ref = rows[REFERENCE]
    f = lambda t: f"{t[0]:.3f} ± {t[1]:.3f}"  # noqa: E731
    print(f"{setup[0]} artist-grouped folds x seeds {setup[1]}\n")
    print("| recipe | CV accuracy | CV macro-F1 | Δ accuracy vs ref | Δ macro-F1 vs ref | "
          "train→valid acc / F1 |\n|---|---|---|---|---|---|")
    for name, r in rows.items():
        da = paired_difference(r, ref, "accuracy")
        df = paired_difference(r, ref, "macro_f1")
        tv = r["train_valid"]
        print(f"| {name} | {f(r['acc'])} | {f(r['f1'])} | {f(da)} | {f(df)} | "
              f"{tv[0]:.3f} / {tv[1]:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
