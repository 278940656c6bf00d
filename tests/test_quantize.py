"""int8 export (``genrekit export --quantize int8``) and the bundled model's precisions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import chirp, noise, tone, write

from genrekit.cli import main
from genrekit.errors import ParameterError
from genrekit.inference.classifier import DEFAULT_INT8, DEFAULT_ONNX, GenreClassifier


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, tmp_path_factory):
    d = tmp_path_factory.mktemp("q")
    audio = d / "calib"
    audio.mkdir()
    for i, make in enumerate([tone, chirp, noise] * 2):
        write(audio / f"c{i}.wav", make(seconds=3.0) * (0.3 + 0.1 * i))
    rc = main(["export", str(tiny_checkpoint), "--out", str(d / "m.onnx"), "--quantize",
               "int8", "--calibrate", str(audio), "--calibration-slices", "40"])
    assert rc == 0
    return d


def test_int8_export_writes_both_graphs_with_metadata(exported):
    import onnxruntime as ort

    f, q = exported / "m.onnx", exported / "m.int8.onnx"
    assert f.exists() and q.exists()
    meta = json.loads(ort.InferenceSession(str(q)).get_modelmeta()
                      .custom_metadata_map["genrekit"])
    quant = meta["quantization"]
    assert quant["nodes"] and 0 < quant["share_of_macs"] <= 1
    assert 0 < quant["calibration_slices"] <= 40  # 6 clips hold 30 slices
    ops = {n.op_type for n in __import__("onnx").load(str(q)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops


def test_int8_predicts_close_to_float(exported, tmp_path):
    clip = write(tmp_path / "x.wav", chirp(seconds=4.0, f0=200, f1=2000))
    pf = GenreClassifier.load(exported / "m.onnx").predict(clip)
    pq = GenreClassifier.load(exported / "m.int8.onnx").predict(clip)
    assert pq.label == pf.label
    assert max(abs(pq.scores[c] - pf.scores[c]) for c in pf.scores) < 0.05


def test_slice_agreement_of_a_float_and_its_int8_graph(exported, tmp_path):
    from genrekit.data.slices import grid_slices
    from genrekit.quantize import slice_agreement

    f, q = exported / "m.onnx", exported / "m.int8.onnx"
    clf = GenreClassifier.load(f)
    x = np.concatenate([grid_slices(clf.features(write(tmp_path / f"{i}.wav", make(seconds=6.0))),
                                    clf.width, clf.hop)[0]
                        for i, make in enumerate([tone, chirp, noise])])
    assert slice_agreement(f, f, x) == (1.0, 0.0)  # a graph vs itself
    agree, diff = slice_agreement(f, q, x)
    assert 0.5 <= agree <= 1.0 and 0.0 < diff < 0.1  # int8 moves the numbers a little


def test_export_reports_the_int8_agreement(tiny_checkpoint, tmp_path, capsys):
    audio = tmp_path / "calib"
    audio.mkdir()
    for i, make in enumerate([tone, chirp, noise]):
        write(audio / f"c{i}.wav", make(seconds=3.0))
    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path / "m.onnx"),
                 "--quantize", "int8", "--calibrate", str(audio)]) == 0
    assert "int8 vs float on the" in capsys.readouterr().out


def test_quantize_needs_calibration_audio(tiny_checkpoint, tmp_path, capsys):
    assert main(["export", str(tiny_checkpoint), "--out", str(tmp_path / "m.onnx"),
                 "--quantize", "int8"]) == 2
    assert "--calibrate" in capsys.readouterr().err
    from genrekit.quantize import quantize_onnx

    with pytest.raises(ParameterError, match="calibration slices"):
        quantize_onnx(DEFAULT_ONNX, tmp_path / "q.onnx", np.zeros((0, 1, 96, 188)))


def test_bundled_precisions():
    assert GenreClassifier.from_pretrained(precision="float").source == str(DEFAULT_ONNX)
    assert GenreClassifier.from_pretrained().source == str(DEFAULT_ONNX)
    assert not DEFAULT_INT8.exists()  # none ships: the pruned float graph is as fast
    with pytest.raises(ParameterError, match="no int8 graph ships"):
        GenreClassifier.from_pretrained(precision="int8")
    with pytest.raises(ParameterError, match="precision"):
        GenreClassifier.from_pretrained(precision="fp16")


def _q_dq_maxpool(per_channel: bool):
    from onnx import TensorProto, helper, numpy_helper

    scale = np.array([0.05, 0.1, 0.2, 0.4], np.float32) if per_channel else np.float32(0.1)
    zp = np.full(4, 128, np.uint8) if per_channel else np.uint8(128)
    axis = {"axis": 1} if per_channel else {}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], **axis),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"], **axis),
             helper.make_node("MaxPool", ["d"], ["m"], kernel_shape=[1, 6]),
             helper.make_node("Relu", ["m"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                     [1, 4, 5, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 1])],
                          [numpy_helper.from_array(np.asarray(scale), "s"),
                           numpy_helper.from_array(np.asarray(zp), "z")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("per_channel", [False, True])
def test_the_maximum_moves_before_the_dequantisation_with_the_same_numbers(per_channel):
    import onnx
    import onnxruntime as ort

    from genrekit.quantize import max_before_dequantize

    def run(m):
        s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return s.run(None, {"x": x})[0]

    x = np.random.default_rng(0).normal(0, 5, (1, 4, 5, 6)).astype(np.float32)
    model = _q_dq_maxpool(per_channel)
    want = run(model)
    moved = max_before_dequantize(model)
    pool = next(n for n in model.graph.node if n.op_type == "MaxPool")
    if per_channel:  # a per-channel scale is left alone
        assert moved == [] and pool.input[0] == "d"
    else:
        assert moved == [pool.name] and pool.input[0] == "q"  # the max reads the uint8s
        assert [n.op_type for n in model.graph.node] == ["QuantizeLinear", "MaxPool",
                                                         "DequantizeLinear", "Relu"]
    onnx.checker.check_model(model)  # still a valid, topologically sorted graph
    np.testing.assert_array_equal(run(model), want)
