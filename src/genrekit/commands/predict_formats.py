"""Output formats of ``genrekit predict``: table, json, csv, zalo (``Id,Genre``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path


def table(results, errors, clf, *, timeline: bool = False) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    con = Console(file=buf, width=120, force_terminal=False)
    t = Table(title=f"genrekit: {Path(clf.source).name} ({clf.model_name}, "
                    f"aggregate={clf.rule})")
    t.add_column("file", overflow="fold")
    t.add_column("genre", style="bold")
    t.add_column("score", justify="right")
    novelty = any(p.novelty is not None for p in results)
    sets = any(p.prediction_set is not None for p in results)
    if novelty:
        t.add_column("novelty", justify="right")
    t.add_column(f"top {len(results[0].top_k)}" if results else "top k")
    if sets:
        t.add_column(f"set ({results[0].set_level:.0%})")
    limit = clf.max_duration
    for p in results:
        name = Path(p.path).name
        if limit and p.duration >= limit - 0.5:  # long files: only the start is analysed
            name += f" (first {limit:g} s)"
        genre = f"unknown (closest: {p.closest})" if p.unknown else p.label
        row = [name, genre, f"{p.score:.2f}"]
        if novelty:
            row.append("" if p.novelty is None else f"{p.novelty:.2f}")
        row.append(", ".join(f"{lbl} {s:.2f}" for lbl, s in p.top_k))
        if sets:
            row.append(", ".join(p.prediction_set or []))
        t.add_row(*row)
    for path, reason in errors:
        t.add_row(Path(path).name, "[red]error[/]", "", *([""] * novelty), reason,
                  *([""] * sets))
    con.print(t)
    for p in results:
        if p.neighbours:
            con.print(f"{Path(p.path).name} is most like: " + "; ".join(
                f"{n['song']} ({n['genre']}, {n['similarity']:.2f})" for n in p.neighbours),
                markup=False, highlight=False)
    unknown = sum(p.unknown for p in results)
    if unknown:
        con.print(f"{unknown} of {len(results)} songs are 'unknown': not like the genres this "
                  f"model knows (novelty above {clf.novelty_threshold:g}) or no genre above "
                  f"{clf.min_confidence:g}; the closest genre is shown")
    if timeline:
        from ..inference.prediction import timeline_runs

        for p in results:  # runs of one label (json and csv keep every slice)
            con.print(f"\n[bold]{Path(p.path).name}[/] timeline ({len(p.timeline)} slices):")
            for start, end, label, score, n in timeline_runs(p.timeline):
                con.print(f"  {start:7.1f}-{end:7.1f} s  {label:12s} {score:.2f}"
                          + (f"  ({n} slices)" if n > 1 else ""), markup=False,
                          highlight=False)
    return buf.getvalue()


def to_json(results, errors, clf, *, timeline: bool = False) -> str:
    out = {"model": {"source": str(clf.source), "name": clf.model_name,
                     "classes": clf.classes_, "aggregate": clf.rule,
                     "novelty_threshold": clf.novelty_threshold,
                     "min_confidence": clf.min_confidence, "set_level": clf.set_level},
           "predictions": [p.to_dict(timeline=timeline) for p in results],
           "errors": [{"file": f, "error": r} for f, r in errors]}
    return json.dumps(out, indent=2) + "\n"


def to_csv(results, errors, clf, *, timeline: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "label", "closest", "score", "novelty", "set", "top_k",
                *clf.classes_, "neighbours", "error"])
    for p in results:
        w.writerow([p.path, p.label, p.closest, f"{p.score:.6f}",
                    "" if p.novelty is None else f"{p.novelty:.4f}",
                    ";".join(p.prediction_set or []),
                    ";".join(f"{lbl}:{s:.4f}" for lbl, s in p.top_k),
                    *[f"{p.scores[c]:.6f}" for c in clf.classes_],
                    ";".join(f"{n['song']}:{n['genre']}:{n['similarity']:.4f}"
                             for n in p.neighbours or []), ""])
    for f, r in errors:
        w.writerow([f, "", "", "", "", "", "", *[""] * len(clf.classes_), "", r])
    return buf.getvalue()


def to_zalo(results, errors, clf, *, timeline: bool = False) -> str:
    """The Zalo AI challenge's submission layout: ``Id,Genre`` (file name, genre). A
    submission needs one of the classes for every file, so an ``unknown`` song gets its
    closest genre here."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Id", "Genre"])
    for p in results:
        w.writerow([Path(p.path).name, p.closest])
    return buf.getvalue()
