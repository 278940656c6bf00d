"""``genrekit tag PATHS... [--mode fill|overwrite|append] [--dry-run] [--journal FILE]``
and ``genrekit tag --undo JOURNAL``."""

from __future__ import annotations

from .common import add_jobs_arg, add_model_file_arg, check_outputs, in_range, report, warn_open_set


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", help="audio files or folders")
    add_model_file_arg(p)
    p.add_argument("--min-confidence", type=in_range(float, lo=0, hi=1, hi_open=True),
                   default=0.5, metavar="P",
                   help="a song whose top probability is below P is 'unknown' and gets no "
                        "genre; in [0, 1) (default 0.5, stricter than predict's)")
    p.add_argument("--novelty-threshold", type=in_range(float, lo=0, hi=1, lo_open=True),
                   metavar="N", help="a song more unusual than N of the model's held-out "
                   "songs is 'unknown' and gets no genre; in (0, 1] (default: the model's)")
    p.add_argument("--field", default="genre", help="tag field to write (default genre)")
    p.add_argument("--mode", choices=["fill", "overwrite", "append"], default="fill",
                   help="fill: only empty fields (default); overwrite; append a value")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--keep-existing", action="store_true",
                   help="add the genres to a field's existing ones (= --mode append)")
    g.add_argument("--force", action="store_true",
                   help="replace existing genres (= --mode overwrite); undo restores them")
    v = p.add_argument_group("several genres, albums, your vocabulary")
    v.add_argument("--max-genres", type=in_range(int, lo=1), default=1, metavar="N",
                   help="write up to N genres, >= 1 (default 1): the top one, then others "
                        "scoring at least --min-score")
    v.add_argument("--min-score", type=in_range(float, lo=0, hi=1), default=0.2, metavar="S",
                   help="score a genre after the first needs, in [0, 1] (default 0.2)")
    v.add_argument("--separator", metavar="C",
                   help="join the genres into one value with this one character (for "
                        "players that read one string); default: a real multi-value tag")
    v.add_argument("--source", choices=["track", "album", "artist"], default="track",
                   help="track (default), or album / artist: the tracks' probabilities are "
                        "combined so an album (artist) gets one genre on every track")
    v.add_argument("--per-track-exceptions", action="store_true",
                   help="with --source album/artist: a track confidently (>= 0.6) of "
                        "another genre keeps its own")
    v.add_argument("--genre-map", metavar="YAML",
                   help="label: Name pairs for your names (e.g. hiphop: Hip-Hop)")
    v.add_argument("--canonical", metavar="YAML",
                   help="a genre tree (beets lastgenre's genres-tree.yaml shape): a genre "
                        "becomes its top-level parent")
    v.add_argument("--prefer-specific", action="store_true",
                   help="with --canonical: keep the genre itself, not its parent")
    v.add_argument("--whitelist", metavar="FILE",
                   help="genres allowed, one a line; others are never written")
    v.add_argument("--title-case", action="store_true", help="hip-hop -> Hip-Hop")
    p.add_argument("--explain", action="store_true",
                   help="list, per song, the 3 songs the model learned from that it is most "
                        "like (genre, similarity): why it got its genre")
    p.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    from ..paths import data_dir, default_db

    p.add_argument("--journal", default=str(data_dir() / "tags.jsonl"),
                   help="journal of every write, for --undo and resuming (default: "
                        "tags.jsonl in the user data folder; genrekit info shows it)")
    p.add_argument("--undo", metavar="JOURNAL", help="restore the old tags from a journal")
    p.add_argument("--db", default=default_db(),
                   help="prediction store: reruns predict only new or changed files (default: "
                        "library.sqlite in the user data folder)")
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
    plan = tag_plan(args)  # a bad map, tree, separator: refused before any work
    mode = "append" if args.keep_existing else "overwrite" if args.force else args.mode
    from ..data.manifest import scan_audio
    from ..inference.classifier import load_classifier
    from ..library.store import PredictionStore
    from ..library.tagger import tag_files
    from ..ui import file_progress

    if not args.dry_run:
        check_outputs(("--journal", args.journal, False), ("--db", args.db, False))
    cat = scan_audio(args.paths)
    clf = load_classifier(args.model, precision=args.precision,
                          novelty_threshold=args.novelty_threshold,
                          min_confidence=args.min_confidence, explain=args.explain)
    warn_open_set(clf)
    db = None if args.dry_run else PredictionStore(args.db)
    try:
        with file_progress(len(cat.tracks), "tagging") as advance:
            summary: dict = {}
            results = tag_files([t.path for t in cat], clf, field_name=args.field,
                                mode=mode, min_confidence=args.min_confidence,
                                plan=plan, summary=summary,
                                dry_run=args.dry_run,
                                journal=None if args.dry_run else args.journal,
                                store=db, jobs=args.jobs, progress=advance)
    finally:
        if db:
            db.close()
    _print(results, header="dry run: nothing written" if args.dry_run else "tag")
    _print_groups(summary.get("groups", []), args.source)
    for entry, reason in cat.missing:
        report("error", entry, reason)
    bad = [r for r in results if r.action in ("error", "skipped")]
    for r in bad:
        report(r.action, r.file, r.reason)
    return 1 if bad or cat.missing else 0


def tag_plan(args):
    from ..library.choose import plan_from_options

    return plan_from_options(
        max_genres=args.max_genres, min_score=args.min_score, separator=args.separator,
        source=args.source, per_track_exceptions=args.per_track_exceptions,
        genre_map=args.genre_map, canonical=args.canonical, whitelist=args.whitelist,
        prefer_specific=args.prefer_specific, title_case=args.title_case)


def _print_groups(groups, source: str) -> None:
    """Albums (artists) whose tracks disagree with the genre they were given."""
    from pathlib import Path

    split = [g for g in groups if g["disagree"]]
    if groups:
        print(f"{len(groups)} {source}s; {len(split)} with tracks of another genre:")
    for g in split:
        kept = sum(d["kept"] for d in g["disagree"])
        print(f"  {g['key']}: {g['genre']} for {g['tracks']} tracks; "
              f"{len(g['disagree'])} disagree ("
              + ", ".join(f"{Path(d['file']).name}: {d['genre']} {d['score']:.2f}"
                          for d in g["disagree"][:5])
              + (f"; {kept} kept their own" if kept else "") + ")")


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
    for r in results:
        if r.neighbours:
            print(f"{Path(r.file).name} ({r.label}) is most like: " + "; ".join(
                f"{n['song']} ({n['genre']}, {n['similarity']:.2f})" for n in r.neighbours))
    unknown = [r for r in results if r.action == "unknown"]
    if unknown:
        print(f"{len(unknown)} songs not tagged, not like any genre the model knows: "
              + ", ".join(Path(r.file).name for r in unknown[:20])
              + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""))
