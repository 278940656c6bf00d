import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import toy_genre, write

pytest.importorskip("onnxruntime")

from genrekit import GenreClassifier  # noqa: E402
from genrekit.cli import main  # noqa: E402
from genrekit.errors import CheckpointError  # noqa: E402


@pytest.fixture(scope="module")
def onnx_model(tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    assert main(["export", str(tiny_checkpoint), "--format", "onnx", "--out", str(out)]) == 0
    return out


def test_onnx_matches_torch(onnx_model, tiny_checkpoint, tmp_path):
    t, o = GenreClassifier.load(tiny_checkpoint), GenreClassifier.load(onnx_model)
    assert o.classes_ == t.classes_ and o.spec == t.spec and o.rule == t.rule
    for i, label in enumerate(("tones", "noise", "chirps")):
        path = write(tmp_path / f"{label}.wav", toy_genre(label, 900 + i, seconds=2.0 + i))
        pt, po = t.predict(path), o.predict(path)
        np.testing.assert_allclose([po.scores[c] for c in t.classes_],
                                   [pt.scores[c] for c in t.classes_], atol=1e-4)
        for a, b in zip(pt.timeline, po.timeline, strict=True):  # per slice too
            np.testing.assert_allclose(list(a.scores.values()), list(b.scores.values()),
                                       atol=1e-4)


def test_onnx_metadata_and_dynamic_axes(onnx_model):
    import onnx
    import onnxruntime as ort

    m = onnx.load(str(onnx_model))
    meta = json.loads({p.key: p.value for p in m.metadata_props}["genrekit"])
    assert meta["classes"] == ["chirps", "noise", "tones"]
    assert meta["features"]["names"] == ["mel"] and meta["slices"]["slice_seconds"] == 1.0
    s = ort.InferenceSession(str(onnx_model), providers=["CPUExecutionProvider"])
    for b, t in ((1, 43), (5, 80)):
        p = s.run(None, {"features": np.random.randn(b, 1, 32, t).astype(np.float32)})[0]
        assert p.shape == (b, 3) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_onnx_path_needs_no_torch(onnx_model, tmp_path):
    path = write(tmp_path / "a.wav", toy_genre("noise", 1, seconds=2.0))
    code = ("import sys\n"
            "class Block:\n"  # any torch import now fails
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ImportError('torch is blocked in this test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from genrekit import GenreClassifier\n"
            f"p = GenreClassifier.load({str(onnx_model)!r}).predict({str(path)!r})\n"
            "assert 'torch' not in sys.modules\n"
            "print(p.label)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() in ("chirps", "noise", "tones")


def test_predict_cli_with_onnx_and_bad_files(onnx_model, tmp_path, capsys):
    write(tmp_path / "a.wav", toy_genre("tones", 2, seconds=2.0))
    assert main(["predict", str(tmp_path / "a.wav"), "--model", str(onnx_model),
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["predictions"][0]["label"]
    (tmp_path / "x.onnx").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a readable ONNX model"):
        GenreClassifier.load(tmp_path / "x.onnx")
    with pytest.raises(CheckpointError, match="model file not found"):
        GenreClassifier.load(tmp_path / "missing.onnx")
