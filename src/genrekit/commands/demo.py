"""``genrekit demo``: predict the bundled excerpts with the bundled model; no data needed."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"


def add_arguments(p) -> None:
    p.add_argument("--out", default="demo-out", help="folder for timeline.png and "
                                                     "predictions.json (default demo-out)")
    p.add_argument("--model", help="checkpoint (.pt); default: the bundled model")


def run(args) -> int:
    import json
    import sys
    from types import SimpleNamespace

    from ..inference.plots import plot_timelines
    from .predict import load_classifier, predict_paths
    from .predict_formats import table

    clips = sorted(DEMO_DIR.glob("*.ogg"))
    opts = SimpleNamespace(model=args.model, aggregate=None, device="cpu", top_k=3, jobs=1,
                           timeline=True)
    clf = load_classifier(opts)
    print(f"genrekit demo: {len(clips)} bundled excerpts ({DEMO_DIR / 'ATTRIBUTION.md'}); "
          f"model {clf.source}")
    results, errors = predict_paths(clf, clips, opts)
    sys.stdout.write(table(results, errors, clf, opts))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_timelines(results, out / "timeline.png", classes=clf.classes_)
    (out / "predictions.json").write_text(json.dumps([r.to_dict() for r in results], indent=2))
    print(f"wrote {out / 'timeline.png'} and {out / 'predictions.json'}")
    return 1 if errors else 0
