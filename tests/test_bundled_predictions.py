"""The bundled model's predictions on the demo clips match the recorded ones
(``tools/record_demo_predictions.py``, rerun only when the bundled model changes): a
refactor of decoding, features, slicing, the inference contract or aggregation that moves
a label or a score fails here.

Scores are compared within a stated tolerance, not bit for bit: the features' mel
projection runs through BLAS (OpenBLAS picks its kernel per CPU: AVX-512 on one Xeon,
Haswell on an AVX2-only EPYC) and the model through onnxruntime's MLAS or torch's oneDNN,
which do the same; each reorders sums and moves the last bits (seen: 4.8e-7 on a feature,
well under 1e-6 on a score). What our code decides from them must not move: labels,
closest genres and durations are identical. ``make test`` reruns this file under another
OpenBLAS/oneDNN kernel, so a CPU-dependent exactness cannot come back."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "data" / "demo_predictions.json"

pytestmark = pytest.mark.numeric

#: largest difference allowed on a probability, and on the novelty score
SCORE_TOL, NOVELTY_TOL = 1e-5, 1e-4


def _recorder():
    spec = importlib.util.spec_from_file_location("record", ROOT / "tools" /
                                                  "record_demo_predictions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def assert_matches_recording(got: dict, want: dict) -> None:
    """``got`` and ``want``: ``{clip: record.exact(prediction)}``."""
    assert got.keys() == want.keys()
    for name, w in want.items():
        g = got[name]
        assert (g["label"], g["closest"], g["duration"]) == (
            w["label"], w["closest"], w["duration"]), name
        assert [s[:3] for s in g["timeline"]] == [s[:3] for s in w["timeline"]], name
        assert g.get("set") == w.get("set"), name
        pairs = [(g["scores"], w["scores"])] + [(a[3], b[3]) for a, b in
                                                zip(g["timeline"], w["timeline"], strict=True)]
        for a, b in pairs:
            assert a.keys() == b.keys(), name
            worst = max(abs(float.fromhex(a[k]) - float.fromhex(b[k])) for k in a)
            assert worst < SCORE_TOL, (name, worst)
        assert (g["novelty"] is None) == (w["novelty"] is None), name
        if w["novelty"] is not None:
            assert abs(float.fromhex(g["novelty"]) - float.fromhex(w["novelty"])) < \
                NOVELTY_TOL, name


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_demo_predictions_match_the_recording(runtime):
    from genrekit import GenreClassifier

    rec = _recorder()
    want = json.loads(REF.read_text())[runtime]
    clf = GenreClassifier.from_pretrained(**rec.RUNTIMES[runtime])
    demo = ROOT / "src" / "genrekit" / "demo"
    got = {name: rec.exact(clf.predict(demo / name)) for name in want}
    assert_matches_recording(got, want)


def test_the_comparison_can_fail():
    """A label, a score moved by 1e-4 or a novelty moved by 1e-3 is caught."""
    want = json.loads(REF.read_text())["onnx"]
    name = next(iter(want))
    for change in ("label", "score", "novelty"):
        got = json.loads(json.dumps(want))
        g = got[name]
        if change == "label":
            g["label"] = "polka"
        elif change == "score":
            k = next(iter(g["scores"]))
            g["scores"][k] = (float.fromhex(g["scores"][k]) + 1e-4).hex()
        elif g["novelty"] is not None:
            g["novelty"] = (float.fromhex(g["novelty"]) + 1e-3).hex()
        else:
            continue
        with pytest.raises(AssertionError):
            assert_matches_recording(got, want)
