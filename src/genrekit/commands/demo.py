"""``genrekit demo``: predict the bundled excerpts with the bundled model; no data needed."""

from __future__ import annotations

from pathlib import Path

from .common import add_model_file_arg, check_outputs

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"


def add_arguments(p) -> None:
    p.add_argument("--out", default="demo-out", help="folder for timeline.png and "
                                                     "predictions.json (default demo-out)")
    add_model_file_arg(p)


def run(args) -> int:
    import json
    import sys

    from ..extras import has
    from ..inference.classifier import load_classifier
    from ..inference.plots import plot_timelines
    from .predict import predict_paths
    from .predict_formats import table

    check_outputs(("--out", args.out, True))
    clips = sorted(DEMO_DIR.glob("*.ogg"))
    clf = load_classifier(args.model, precision=args.precision)
    from .common import warn_open_set

    warn_open_set(clf)
    print(f"genrekit demo: {len(clips)} bundled excerpts ({DEMO_DIR / 'ATTRIBUTION.md'}); "
          f"model {clf.source}")
    results, errors = predict_paths(clf, clips)
    sys.stdout.write(table(results, errors, clf, timeline=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "predictions.json").write_text(json.dumps([r.to_dict() for r in results], indent=2))
    if has("matplotlib"):
        plot_timelines(results, out / "timeline.png", classes=clf.classes_)
        print(f"wrote {out / 'timeline.png'} and {out / 'predictions.json'}")
    else:  # a base install: the predictions, no picture
        print(f"wrote {out / 'predictions.json'} (for timeline.png: "
              "pip install 'genrekit[plots]')")
    return 1 if errors else 0
