"""``genrekit audit CATALOG [--format table|csv] [--out FILE]``: the labelled songs most
likely mislabelled (out-of-fold probabilities over artist-grouped folds, confident
learning) and near-duplicate songs, most suspicious first."""

from __future__ import annotations

from .common import (
    add_audio_dir_arg,
    add_embedding_args,
    check_outputs,
    in_range,
    report_failures,
)


def add_arguments(p) -> None:
    p.add_argument("data", help="your labelled catalog: a folder per genre or a CSV")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.add_argument("--out", help="write the list here (default: standard output)")
    p.add_argument("--top", type=in_range(int, lo=1), default=20,
                   help="label issues shown in the table, >= 1 (default 20; csv: all)")
    add_audio_dir_arg(p)
    add_embedding_args(p)


def training_scale(clf) -> dict:
    """The model's training songs' embedding statistics (carried by its novelty model)."""
    knn = [c for c in getattr(getattr(clf, "open_set", None), "components", None) or []
           if c["kind"] == "knn"]
    return {"shift": knn[0]["shift"], "scale": knn[0]["scale"]} if knn else {}


def run(args) -> int:
    import csv
    import io
    import sys
    from pathlib import Path

    from ..errors import ParameterError
    from ..inference.classifier import load_classifier
    from ..teach.audit import label_issues, near_duplicates
    from ..teach.embeddings import library_embeddings
    from ..ui import file_progress
    from .common import one_line, report, selected_catalog

    check_outputs(("--out", args.out, False), ("--cache-dir", args.cache_dir, True))
    cat = selected_catalog(args.data, audio_dir=args.audio_dir, on_conflict=args.on_conflict)
    tracks = {str(t.path): t for t in cat if t.label is not None}
    if len(tracks) < 4:
        raise ParameterError(f"{args.data}: an audit needs labelled songs ({len(tracks)} found)")
    clf = load_classifier(args.model, precision=args.precision)
    with file_progress(len(tracks), "embeddings") as advance:
        Z, good, errors = library_embeddings(list(tracks), clf, args.cache_dir,
                                             jobs=args.jobs, progress=advance)
    labels = [tracks[p].label for p in good]
    groups = [tracks[p].group or p for p in good]
    issues = label_issues(Z, labels, groups)
    dups = near_duplicates(Z, **training_scale(clf))
    rows = [("duplicate", good[i], labels[i], labels[j], f"{c:.4f}", good[j])
            for i, j, c in dups]
    rows += [("label", good[r["index"]], r["given"], r["suggested"], f"{r['p_given']:.4f}", "")
             for r in issues]
    if args.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["kind", "path", "given", "suggested", "score", "duplicate_of"])
        w.writerows(rows)
        text = buf.getvalue()
    else:
        e = one_line  # names and genres from a catalog: one line each, never a forged row
        lines = [f"near duplicates (cosine >= threshold): {len(dups)}"]
        lines += [f"  {c:.3f}  {e(Path(good[i]).name)} ({e(labels[i])})  ~  "
                  f"{e(Path(good[j]).name)} ({e(labels[j])})" for i, j, c in dups]
        lines.append(f"labels most likely wrong (probability of the given genre, out of fold; "
                     f"{min(args.top, len(issues))} of {len(issues)}):")
        lines += [f"  {r['p_given']:.3f}  {e(Path(good[r['index']]).name)}: given "
                  f"{e(r['given'])}, likelier {e(r['suggested'])}" for r in issues[:args.top]]
        text = "\n".join(lines) + "\n"
    if args.out:
        from ..fileio import atomic_write_text

        atomic_write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    report_failures(errors)
    for entry, reason in cat.missing:
        report("error", entry, reason)
    return 1 if errors or cat.missing else 0
