"""``genrekit evaluate CHECKPOINT DATA [--split FILE]``."""

from __future__ import annotations

from .common import (
    add_aggregate_arg,
    add_cache_arg,
    add_catalog_selection,
    add_jobs_arg,
    check_outputs,
    report_failures,
    selected_catalog,
)

#: the extras this command needs (checked by cli.main before it runs)
REQUIRES = ("train",)


def add_arguments(p) -> None:
    p.add_argument("checkpoint", help="a .pt checkpoint (e.g. runs/NAME/best.pt)")
    p.add_argument("data", help="a folder per genre or a CSV catalog")
    add_catalog_selection(p, what="evaluate ")
    p.add_argument("--out", help="folder for report.json and confusion.png "
                                 "(default: next to the checkpoint)")
    add_aggregate_arg(p, help="slice -> song rule (default: the checkpoint's)")
    p.add_argument("--risk-coverage", action="store_true",
                   help="also accuracy of the most confident 50/80/90/100%% of the songs, "
                        "AURC, and risk_coverage.png")
    add_cache_arg(p)
    add_jobs_arg(p)


def run(args) -> int:
    from pathlib import Path

    from ..errors import ParameterError
    from ..training.evaluate import evaluate_checkpoint

    out = Path(args.out) if args.out else Path(args.checkpoint).parent / (
        f"eval-{Path(args.checkpoint).stem}")
    check_outputs(("--out", out, True))

    cat = selected_catalog(args.data, split=args.split, subset=args.subset,
                           audio_dir=args.audio_dir, on_conflict=args.on_conflict)
    tracks = [t for t in cat if t.label is not None]
    if not tracks:
        raise ParameterError("no labelled songs selected for evaluation")
    rep = evaluate_checkpoint(args.checkpoint, tracks, cache_dir=args.cache_dir, jobs=args.jobs,
                              rule=args.aggregate, out_dir=out,
                              risk_coverage=args.risk_coverage)
    print_report(rep)
    if "risk_coverage" in rep:
        rc = rep["risk_coverage"]
        print("selective accuracy (most confident songs first): " + ", ".join(
            f"{float(c):.0%} {a:.3f}" for c, a in rc["accuracy_at"].items())
            + f"; AURC {rc['aurc']:.3f}; wrote {out / 'risk_coverage.png'}")
    print(f"wrote {out / 'report.json'} and {out / 'confusion.png'}")
    skipped = [(str(e), r) for e, r in cat.missing] + [tuple(s) for s in rep["skipped"]]
    # not scored: the numbers above leave these songs out
    report_failures(skipped, "skipped", where=out / "report.json")
    return 1 if skipped else 0


def print_report(rep: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{rep['n']} songs, aggregate={rep['aggregate']}")
    for col in ("class", "precision", "recall", "F1", "songs"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for c, m in rep["per_class"].items():
        t.add_row(c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                  str(int(m["support"])))
    con = Console()
    con.print(t)
    con.print(f"per-song accuracy [bold]{rep['accuracy']:.3f}[/], macro-F1 "
              f"[bold]{rep['macro_f1']:.3f}[/]; per-slice accuracy {rep['slice_accuracy']:.3f}")
