"""``genrekit suggest LIBRARY... --labels labels.csv --n N [--strategy auto] [--format
table|csv] [--out FILE]``: the next songs to label, best first.

``labels.csv`` is the plain catalog CSV (``path,genre``) that ``genrekit finetune default
labels.csv`` takes as it is; a missing file means no labels yet. The library's song
embeddings are computed once through the model and cached by model and file content.

:func:`load_library` (labels, model, embeddings of a library) is ``genrekit teach``'s
starting point too.
"""

from __future__ import annotations

from .common import (
    add_embedding_args,
    check_outputs,
    in_range,
    one_line,
    report,
    report_failures,
)


def add_arguments(p) -> None:
    from ..teach.select import STRATEGIES

    p.add_argument("library", nargs="+", metavar="FILE|DIR", help="your music: files or folders")
    from ..paths import default_labels

    p.add_argument("--labels", default=default_labels(),
                   help="your labels so far, a CSV of path,genre (default: teach's, in the "
                        "user data folder; missing: none yet)")
    p.add_argument("--n", type=in_range(int, lo=1), default=10,
                   help="how many songs to suggest, >= 1 (default 10)")
    p.add_argument("--strategy", choices=list(STRATEGIES), default="auto",
                   help="auto (default: typical and diverse songs first, then the songs the "
                        "current labels leave least certain, with a share of songs unlike "
                        "any labelled one), typiclust, margin, kcenter, random")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.add_argument("--out", help="write the suggestions here (default: standard output)")
    p.add_argument("--seed", type=in_range(int, lo=0), default=0)
    add_embedding_args(p)


def load_library(args):
    """What ``suggest`` and ``teach`` start from: ``(labels {real path: genre}, bad label
    rows (reported), the classifier, Z [S, D], readable paths, errors)``."""
    from ..data.manifest import scan_audio
    from ..errors import ParameterError
    from ..inference.classifier import load_classifier
    from ..teach.embeddings import library_embeddings
    from ..teach.labels import read_labels
    from ..ui import file_progress

    labels, bad, notes = read_labels(args.labels)
    for entry, reason in bad:
        report("error", entry, reason)
    for entry, note in notes:
        report("note", entry, note)
    cat = scan_audio(args.library)
    paths = [str(t.path) for t in cat]
    if not paths:
        raise ParameterError(f"no audio files found in {', '.join(args.library)}")
    clf = load_classifier(args.model, precision=args.precision)
    with file_progress(len(paths), "embeddings") as advance:
        Z, good, errors = library_embeddings(paths, clf, args.cache_dir, jobs=args.jobs,
                                             progress=advance)
    return labels, bad, clf, Z, good, errors + list(cat.missing)


def run(args) -> int:
    import csv
    import io
    import os
    import sys

    from ..teach.select import select

    check_outputs(("--out", args.out, False), ("--cache-dir", args.cache_dir, True))
    labels, bad, clf, Z, good, errors = load_library(args)
    given = [labels.get(os.path.realpath(p)) for p in good]
    outside = len(labels) - sum(g is not None for g in given)
    picks = select(Z, given, args.n, strategy=args.strategy, seed=args.seed)
    rows = [(rank, good[i]) for rank, i in enumerate(picks, start=1)]
    if args.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path", "rank"])
        w.writerows([(p, r) for r, p in rows])
        text = buf.getvalue()
    else:
        text = "".join(f"{r:4d}  {one_line(p)}\n" for r, p in rows)
    if args.out:
        from ..fileio import atomic_write_text

        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
    n_lab = sum(g is not None for g in given)
    print(f"{len(rows)} suggestions from {len(good)} songs ({n_lab} labelled, "
          f"{len(set(g for g in given if g))} genres"
          + (f"; {outside} labelled files are not in the library" if outside else "")
          + (f"; wrote {args.out}" if args.out else "") + ")", file=sys.stderr)
    report_failures(errors)
    return 1 if errors or bad else 0
