"""Record the bundled model's predictions on the bundled demo clips (ONNX and torch
runtimes) to
``tests/data/demo_predictions.json``, with every float kept exactly (``float.hex``).
``tests/test_bundled_predictions.py`` checks the current code against it: a refactor must
leave these bit-identical (torch within 1e-6: its CPU kernels round differently per CPU).
Rerun only when the bundled model changes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "demo_predictions.json"


def exact(pred) -> dict:
    return {"label": pred.label, "closest": pred.closest,
            "novelty": None if pred.novelty is None else float(pred.novelty).hex(),
            "scores": {k: float(v).hex() for k, v in pred.scores.items()},
            "timeline": [[s.start, s.end, s.label,
                          {k: float(v).hex() for k, v in s.scores.items()}]
                         for s in pred.timeline],
            "duration": float(pred.duration).hex()}


def current() -> dict:
    from genrekit import GenreClassifier

    demo = sorted((ROOT / "src" / "genrekit" / "demo").glob("*.ogg"))
    out = {}
    for name, kw in RUNTIMES.items():
        clf = GenreClassifier.from_pretrained(**kw)
        out[name] = {p.name: exact(clf.predict(p)) for p in demo}
    return out


#: recorded name -> ``from_pretrained`` arguments
RUNTIMES = {"onnx": {"runtime": "onnx", "precision": "float"},
            "torch": {"runtime": "torch"}}


if __name__ == "__main__":
    OUT.write_text(json.dumps(current(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)
