"""The bundled model's predictions on the demo clips are bit-identical to the recorded ones
(``tools/record_demo_predictions.py``, rerun only when the bundled model changes): a
refactor of decoding, features, slicing, the inference contract or aggregation that moves
a single bit fails here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "data" / "demo_predictions.json"


def _recorder():
    spec = importlib.util.spec_from_file_location("record", ROOT / "tools" /
                                                  "record_demo_predictions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_demo_predictions_bit_identical(runtime):
    from genrekit import GenreClassifier

    rec = _recorder()
    want = json.loads(REF.read_text())[runtime]
    clf = GenreClassifier.from_pretrained(**rec.RUNTIMES[runtime])
    demo = ROOT / "src" / "genrekit" / "demo"
    got = {name: rec.exact(clf.predict(demo / name)) for name in want}
    assert got == want
