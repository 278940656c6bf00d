import json

from genrekit.cli import main
from genrekit.commands.demo import DEMO_DIR
from genrekit.inference.classifier import DEFAULT_MODEL, DEFAULT_ONNX


def test_demo_excerpts_are_small_and_attributed():
    clips = sorted(DEMO_DIR.glob("*.ogg"))
    assert len(clips) >= 3
    assert sum(c.stat().st_size for c in clips) <= 2_000_000
    attribution = (DEMO_DIR / "ATTRIBUTION.md").read_text()
    for c in clips:
        assert c.name in attribution


def test_demo_command_with_a_given_model(tiny_checkpoint, tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--model", str(tiny_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "asc_frontiers_060s.ogg" in out
    assert (tmp_path / "timeline.png").stat().st_size > 5000
    preds = json.loads((tmp_path / "predictions.json").read_text())
    assert len(preds) == len(list(DEMO_DIR.glob("*.ogg")))


def test_bundled_model_predicts_out_of_the_box():
    import numpy as np

    from genrekit import GenreClassifier

    assert DEFAULT_MODEL.stat().st_size < 20_000_000 and DEFAULT_ONNX.exists()
    clf = GenreClassifier.from_pretrained()  # onnxruntime on a CPU
    assert clf.source.endswith(".onnx")
    assert len(clf.classes_) == 10 and "jazz" in clf.classes_
    clip = sorted(DEMO_DIR.glob("*.ogg"))[0]
    p = clf.predict(clip)
    assert p.closest in clf.classes_ and p.label in [*clf.classes_, "unknown"]
    assert len(p.timeline) >= 3
    t = GenreClassifier.from_pretrained(runtime="torch").predict(clip)  # the .pt, same model
    f = GenreClassifier.from_pretrained(precision="float").predict(clip)  # its float ONNX
    np.testing.assert_allclose([f.scores[c] for c in clf.classes_],
                               [t.scores[c] for c in clf.classes_], atol=1e-4)
    assert clf.source == f"{DEFAULT_ONNX}"  # what ships is the float graph
    np.testing.assert_allclose([p.scores[c] for c in clf.classes_],
                               [f.scores[c] for c in clf.classes_], atol=0)


def test_predict_with_the_bundled_model_never_imports_torch(tmp_path):
    import subprocess
    import sys

    clip = sorted(DEMO_DIR.glob("*.ogg"))[0]
    code = ("import sys\nfrom genrekit.cli import main\n"
            f"rc = main(['predict', {str(clip)!r}, '--format', 'json'])\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '"label"' in out.stdout
