"""``genrekit tag PATHS... [--mode fill|overwrite|append] [--dry-run] [--journal FILE]``
and ``genrekit tag --undo JOURNAL``."""

from __future__ import annotations

from .common import add_jobs_arg, add_model_file_arg, report


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="audio files or folders")
    add_model_file_arg(p)
    p.add_argument("--min-confidence", type=float, default=0.5,
                   help="write only when the song score reaches this (default 0.5)")
    p.add_argument("--field", default="genre", help="tag field to write (default genre)")
    p.add_argument("--mode", choices=["fill", "overwrite", "append"], default="fill",
                   help="fill: only empty fields (default); overwrite; append a value")
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    p.add_argument("--journal", default="genrekit-tags.jsonl",
                   help="journal of every write, for --undo and resuming "
                        "(default ./genrekit-tags.jsonl)")
    p.add_argument("--undo", metavar="JOURNAL", help="restore the old tags from a journal")
    p.add_argument("--db", default="genrekit-library.sqlite",
                   help="prediction store: reruns predict only new or changed files")
    add_jobs_arg(p)


def run(args) -> int:
    from ..errors import ParameterError
    from ..library.tagger import undo

    if args.undo:
        results = undo(args.undo)
        _print(results, header="undo")
        bad = [r for r in results if r.action in ("skipped", "error")]
        for r in bad:
            report(r.action, r.file, r.reason)
        return 1 if bad else 0
    if not args.paths:
        raise ParameterError("give audio files or folders to tag (or --undo JOURNAL)")
    from ..data.manifest import scan_audio
    from ..inference.classifier import load_classifier
    from ..library.store import PredictionStore
    from ..library.tagger import tag_files
    from ..ui import file_progress

    cat = scan_audio(args.paths)
    clf = load_classifier(args.model, precision=args.precision)
    db = None if args.dry_run else PredictionStore(args.db)
    try:
        with file_progress(len(cat.tracks), "tagging") as advance:
            results = tag_files([t.path for t in cat], clf, field_name=args.field,
                                mode=args.mode, min_confidence=args.min_confidence,
                                dry_run=args.dry_run,
                                journal=None if args.dry_run else args.journal,
                                store=db, jobs=args.jobs, progress=advance)
    finally:
        if db:
            db.close()
    _print(results, header="dry run: nothing written" if args.dry_run else "tag")
    for entry, reason in cat.missing:
        report("error", entry, reason)
    bad = [r for r in results if r.action in ("error", "skipped")]
    for r in bad:
        report(r.action, r.file, r.reason)
    return 1 if bad or cat.missing else 0


def _print(results, header: str) -> None:
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"genrekit {header}")
    for col in ("file", "action", "old", "new", "confidence", "note"):
        t.add_column(col, overflow="fold")
    for r in results:
        t.add_row(Path(r.file).name, r.action, "; ".join(r.old or []) or "-",
                  "; ".join(r.new or []) if r.new is not None else "-",
                  f"{r.score:.2f}" if r.score is not None else "", r.reason)
    Console(width=120).print(t)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.action] = counts.get(r.action, 0) + 1
    print(", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no files")
