"""int8 ONNX: static quantisation of the convolutions where int8 pays, calibrated on real
feature slices (``genrekit export --quantize int8``).

What held up on the bundled musicnn model before its dead front-end filters were skipped
(2 CPU cores with AVX-512 VNNI, onnxruntime; numbers in the issue notes): per-channel int8
weights, uint8 activations (MLAS's u8s8 kernels), QDQ format, min/max calibration on slices
of training songs, and only the convolutions that hold at least 4 % of the multiply-adds
each (musicnn's two timbral front-end filters and its two longest temporal filters, 94 % of
them). A maximum over a quantised output (musicnn's frequency max) is then taken on the
uint8 values, before the dequantisation (:func:`max_before_dequantize`). Measured there:
the thin temporal filters (one input channel, ``k x 1`` kernels) ran 5x *slower* as
QLinearConv than float until they were exported with time as the last axis
(``models.musicnn._freq_max``); the shortest one (2.5 %) gained nothing; the first mid-end
convolution (3.2 %) changed 5 of the 273 labelled songs' labels; everything quantised was
1.7x slower than float; 7-bit weights (``reduce_range``) cost label agreement; u8u8
weights ran at 0.7x the u8s8 speed. With the dead filters skipped
(``models.musicnn._live_filters``) the float graph costs ~4 ms a slice and int8 gained
nothing there while changing 3 labels, so the default ships float.

int8 runs where the CPU has VNNI (``inference.runners.int8_ok``); elsewhere onnxruntime's
u8s8 kernels can saturate, so the float graph runs instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .fileio import atomic_path

#: A convolution is quantised when it holds at least this share of the graph's conv MACs.
MIN_SHARE = 0.04


def conv_macs(model, x: np.ndarray) -> dict[str, int]:
    """Multiply-adds of each Conv node of ``model`` (an ``onnx.ModelProto``) on input
    ``x``, from the output shapes of one run."""
    import onnx
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {i.name: i for i in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv" and n.input[1] in inits]
    for n in convs:
        m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n.output[0]))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run([n.output[0] for n in convs], {sess.get_inputs()[0].name: x})
    macs = {}
    for n, y in zip(convs, outs, strict=True):
        w = inits[n.input[1]].dims  # [out, in/group, *kernel]
        macs[n.name] = int(np.prod(y.shape) * np.prod(w[1:]))
    return macs


def quantize_onnx(float_path, out, slices: np.ndarray, *, min_share: float = MIN_SHARE,
                  ) -> Path:
    """Write the int8 version of the float ONNX model ``float_path`` to ``out``.

    ``slices``: calibration input ``[N, C, F, T]`` (raw features of the model's grid slices,
    e.g. :func:`calibration_slices`). The genrekit metadata is copied and records what was
    quantised.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .errors import ParameterError
    from .inference.runners import ONNX_META_KEY

    slices = np.ascontiguousarray(slices, dtype=np.float32)
    if slices.ndim != 4 or not len(slices):
        raise ParameterError(f"calibration slices must be [N, C, F, T] with N >= 1, got "
                             f"{slices.shape}")
    out = Path(out)
    with atomic_path(out) as tmp:
        pre = tmp.with_name(tmp.name + ".pre.onnx")
        try:
            quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=True)
            model = onnx.load(str(pre))
            macs = conv_macs(model, slices[:1])
            total = sum(macs.values()) or 1
            nodes = [n for n, v in macs.items() if v / total >= min_share]
            if not nodes:
                raise ParameterError(f"no convolution holds {min_share:.0%} of the model's "
                                     "multiply-adds: int8 would not pay here")
            name = model.graph.input[0].name

            class Reader(CalibrationDataReader):
                def __init__(self):
                    self.it = iter(slices)

                def get_next(self):
                    x = next(self.it, None)
                    return None if x is None else {name: x[None]}

            quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, nodes_to_quantize=nodes,
                            calibrate_method=CalibrationMethod.MinMax)
        finally:
            pre.unlink(missing_ok=True)
            for extra in tmp.parent.glob(tmp.name + "*.data"):
                extra.unlink(missing_ok=True)
        src = {p.key: p.value for p in onnx.load(str(float_path)).metadata_props}
        q = onnx.load(str(tmp))
        moved = max_before_dequantize(q)
        meta = json.loads(src.get(ONNX_META_KEY, "{}"))
        meta["quantization"] = {
            "format": "int8 QDQ, per-channel s8 weights, u8 activations, min/max",
            "nodes": nodes, "share_of_macs": round(sum(macs[n] for n in nodes) / total, 3),
            "calibration_slices": len(slices), "max_before_dequantize": moved}
        del q.metadata_props[:]
        for k, v in {**src, ONNX_META_KEY: json.dumps(meta)}.items():
            entry = q.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(q, str(tmp))
    return out


def slice_agreement(float_path, int8_path, slices: np.ndarray, *, batch_size: int = 16,
                    ) -> tuple[float, float]:
    """``(share of slices with the same top class, largest probability difference)`` of
    two graphs of one model on ``slices`` ``[N, C, F, T]``: what ``export --quantize``
    prints, so an int8 graph that drifts from its float original is seen before it ships."""
    import onnxruntime as ort

    def probs(path):
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = s.get_inputs()[0].name
        return np.concatenate([s.run(None, {name: slices[i:i + batch_size]})[0]
                               for i in range(0, len(slices), batch_size)])

    slices = np.ascontiguousarray(slices, dtype=np.float32)
    pf, pq = probs(float_path), probs(int8_path)
    return (float(np.mean(pf.argmax(1) == pq.argmax(1))),
            float(np.abs(pf - pq).max(initial=0.0)))


def max_before_dequantize(model) -> list[str]:
    """Rewrite ``DequantizeLinear -> MaxPool`` as ``MaxPool -> DequantizeLinear`` in place
    (``model``: an ``onnx.ModelProto``); returns the names of the MaxPool nodes moved.

    Dequantisation with one positive scale is increasing, so the maximum of the dequantised
    values is the dequantised maximum of the uint8 values: the same numbers, but the
    maximum reads 1 byte a value instead of 4, straight from the quantised convolution's
    output (onnxruntime's channels-last ``NhwcMaxPool``), and only its small result is
    dequantised. On musicnn this drops the transposes and dequantisation of both timbral
    outputs ``[B, 208, T, 59]`` / ``[B, 208, T, 30]``: ~1.2 ms of ~11 ms a slice. A
    per-channel dequantisation, or one whose output has other readers, is left alone."""
    from onnx import NodeProto, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    readers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    moved, quantized = [], set()  # the pools moved; their new (uint8) outputs
    for dq in [n for n in g.node if n.op_type == "DequantizeLinear"]:
        after = readers.get(dq.output[0], [])
        if (len(after) != 1 or after[0].op_type != "MaxPool" or len(after[0].output) != 1
                or any(o.name == dq.output[0] for o in g.output)):
            continue
        scale = inits.get(dq.input[1])
        if scale is None or numpy_helper.to_array(scale).size != 1:
            continue
        pool = after[0]
        pooled = pool.output[0]
        pool.input[0] = dq.input[0]  # the uint8 tensor
        pool.output[0] = pooled + "_quantized"
        dq.input[0], dq.output[0] = pool.output[0], pooled
        moved.append(pool.name)
        quantized.add(pool.output[0])
    if moved:  # each moved dequantisation goes right after its pool: still topological
        nodes = [NodeProto.FromString(n.SerializeToString()) for n in g.node]
        dq_of = {n.input[0]: n for n in nodes
                 if n.op_type == "DequantizeLinear" and n.input[0] in quantized}
        order = []
        for n in nodes:
            if n.op_type == "DequantizeLinear" and n.input[0] in quantized:
                continue
            order.append(n)
            if n.output and n.output[0] in dq_of:
                order.append(dq_of[n.output[0]])
        del g.node[:]
        g.node.extend(order)
    return moved


def calibration_slices(paths, job, width: int, hop: int, *, n: int = 512, seed: int = 0,
                       ) -> np.ndarray:
    """Up to ``n`` grid slices ``[n, C, F, width]`` drawn evenly from the songs ``paths``
    (features by ``job``, an ``engine.jobs.FileJob``); unreadable files are skipped."""
    from .data.slices import grid_slices
    from .errors import GenrekitError, ParameterError

    rng = np.random.default_rng(seed)
    per_song = []
    for p in paths:
        try:
            X = job.features(p)
        except GenrekitError:
            continue
        per_song.append(list(grid_slices(X, width, hop)[0]))
    pool = [s for song in per_song for s in song]
    if not pool:
        raise ParameterError("no readable calibration audio")
    pick = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return np.stack([pool[i] for i in sorted(pick)]).astype(np.float32)
