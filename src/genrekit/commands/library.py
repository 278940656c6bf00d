"""``genrekit library stats [--db FILE] [--png FILE]``: the genre distribution of a
collection, from the prediction store that ``genrekit tag`` fills."""

from __future__ import annotations


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    s = sub.add_parser("stats", help="genre distribution of the prediction store, with a bar chart")
    from ..paths import default_db

    s.add_argument("--db", default=default_db(),
                   help="the prediction store (default: library.sqlite in the user data "
                        "folder; genrekit info shows it)")
    s.add_argument("--png", help="write a bar chart here")


def run(args) -> int:
    from pathlib import Path

    from ..errors import ParameterError
    from ..library.store import PredictionStore
    if not Path(args.db).exists():
        raise ParameterError(f"{args.db}: no prediction store yet (run genrekit tag first)")
    db = PredictionStore(args.db)
    try:
        counts = db.label_counts()
    finally:
        db.close()
    total = sum(counts.values())
    for label, n in counts.items():
        print(f"{label:12s} {n:6d}  {100 * n / max(total, 1):5.1f}%  " + "#" * round(40 * n /
                                                                                max(total, 1)))
    print(f"{total} files")
    if args.png and counts:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 0.4 * len(counts) + 1))
        ax.barh(list(counts)[::-1], list(counts.values())[::-1], color="#4c78a8")
        ax.set_xlabel("files")
        ax.set_title(f"genres of {total} files")
        fig.tight_layout()
        fig.savefig(args.png, dpi=100)
        plt.close(fig)
        print(f"wrote {args.png}")
    return 0
