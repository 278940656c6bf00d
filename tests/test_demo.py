import json

import pytest

from genrekit.cli import main
from genrekit.commands.demo import DEMO_DIR
from genrekit.inference.classifier import DEFAULT_MODEL


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


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="bundled model not built yet")
def test_bundled_model_predicts_out_of_the_box():
    from genrekit import GenreClassifier

    clf = GenreClassifier.from_pretrained()
    assert len(clf.classes_) == 10 and "jazz" in clf.classes_
    assert DEFAULT_MODEL.stat().st_size < 20_000_000
    p = clf.predict(sorted(DEMO_DIR.glob("*.ogg"))[0])
    assert p.label in clf.classes_ and len(p.timeline) >= 3
