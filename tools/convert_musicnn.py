"""Convert musicnn's TensorFlow checkpoint to genrekit's torch port, once, and record the
reference outputs the parity test (tests/test_musicnn.py) compares against.

Runs in its own throw-away venv with TensorFlow (numpy >= 2 breaks musicnn silently):

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.15.1 librosa==0.10.2.post1 'numpy<2'
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    /tmp/tfenv/bin/python tools/convert_musicnn.py --model MSD_musicnn

(also ``--model MTT_musicnn``, ``MSD_vgg``, ``MTT_vgg``: ``musicnn_mtt.npz``,
``musicnn_vgg_msd.npz``, ``musicnn_vgg_mtt.npz`` and their reference files.)

Writes ``src/genrekit/pretrained/musicnn_msd.npz`` (float32 weights named as the torch
module's state_dict, the tag names and the licence notice) and
``tests/data/musicnn_msd_reference.npz`` (a fixed input of two 3 s patches: seeded noise
and the logC mel of a synthetic 16-bit clip that is stored too; musicnn's own tag
probabilities and pooled features for them).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

# TF variable -> torch parameter, in the order musicnn's models.py creates the layers.
_CONVS = {"conv2d": "timbral.0.conv", "conv2d_1": "timbral.1.conv",
          "conv2d_2": "temporal.0.conv", "conv2d_3": "temporal.1.conv",
          "conv2d_4": "temporal.2.conv",
          "conv2d_5": "midend.0.conv", "conv2d_6": "midend.1.conv", "conv2d_7": "midend.2.conv"}
_BNS = {"batch_normalization": "input_bn", "batch_normalization_1": "timbral.0.bn",
        "batch_normalization_2": "timbral.1.bn", "batch_normalization_3": "temporal.0.bn",
        "batch_normalization_4": "temporal.1.bn", "batch_normalization_5": "temporal.2.bn",
        "batch_normalization_6": "midend.0.bn", "batch_normalization_7": "midend.1.bn",
        "batch_normalization_8": "midend.2.bn", "batch_normalization_9": "pool_bn",
        "batch_normalization_10": "dense_bn"}
_DENSE = {"dense": "dense", "dense_1": "tagger"}

LICENCE = ("musicnn weights: Copyright (c) Music Technology Group, Universitat Pompeu Fabra "
           "2019. Code developed by Jordi Pons (www.jordipons.me). Permission to use, copy, "
           "modify, and/or distribute this software for any purpose with or without fee is "
           "hereby granted, provided that the above copyright notice and this permission "
           "notice appear in all copies. THE SOFTWARE IS PROVIDED \"AS IS\" AND THE AUTHOR "
           "DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED "
           "WARRANTIES OF MERCHANTABILITY AND FITNESS. (ISC licence, musicnn 0.1.0)")


def convert(reader) -> dict[str, np.ndarray]:
    get = reader.get_tensor
    out = {}
    for tf_name, pt in _CONVS.items():
        k = get(f"{tf_name}/kernel")  # [kt, kf, 1, out]
        if pt.startswith("midend"):  # a conv over (time, all features): a 1-d conv
            out[f"{pt}.weight"] = np.ascontiguousarray(k[:, :, 0, :].transpose(2, 1, 0))
        else:
            out[f"{pt}.weight"] = np.ascontiguousarray(k.transpose(3, 2, 0, 1))
        out[f"{pt}.bias"] = get(f"{tf_name}/bias")
    for tf_name, pt in _BNS.items():
        out[f"{pt}.weight"] = get(f"{tf_name}/gamma")
        out[f"{pt}.bias"] = get(f"{tf_name}/beta")
        out[f"{pt}.running_mean"] = get(f"{tf_name}/moving_mean")
        out[f"{pt}.running_var"] = get(f"{tf_name}/moving_variance")
    for tf_name, pt in _DENSE.items():
        out[f"{pt}.weight"] = np.ascontiguousarray(get(f"{tf_name}/kernel").T)
        out[f"{pt}.bias"] = get(f"{tf_name}/bias")
    return {k: v.astype(np.float32) for k, v in out.items()}


def convert_vgg(reader) -> dict[str, np.ndarray]:
    """MSD_vgg / MTT_vgg: five 3x3 convolutions with BatchNorm, one dense tagger."""
    get = reader.get_tensor
    out = {}
    for i in range(5):
        out[f"convs.{i}.weight"] = np.ascontiguousarray(
            get(f"{i + 1}CNN/kernel").transpose(3, 2, 0, 1))
        out[f"convs.{i}.bias"] = get(f"{i + 1}CNN/bias")
    for i, pt in enumerate(["input_bn"] + [f"bns.{j}" for j in range(5)]):
        tf_name = "batch_normalization" + (f"_{i}" if i else "")
        out[f"{pt}.weight"] = get(f"{tf_name}/gamma")
        out[f"{pt}.bias"] = get(f"{tf_name}/beta")
        out[f"{pt}.running_mean"] = get(f"{tf_name}/moving_mean")
        out[f"{pt}.running_var"] = get(f"{tf_name}/moving_variance")
    out["tagger.weight"] = np.ascontiguousarray(get("dense/kernel").T)
    out["tagger.bias"] = get("dense/bias")
    return {k: v.astype(np.float32) for k, v in out.items()}


def synthetic_clip(sr: int = 16000, seconds: float = 4.0) -> np.ndarray:
    """A chord with a beat: 16-bit samples, so both sides decode exactly the same audio."""
    t = np.arange(int(sr * seconds)) / sr
    y = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63, 440.0))
    beat = (np.sin(2 * np.pi * 2.0 * t) > 0.95) * np.random.default_rng(1).normal(0, 0.3, t.size)
    return np.round(np.clip(y + beat, -1, 1) * 32767).astype(np.int16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="MSD_musicnn",
                    choices=["MSD_musicnn", "MTT_musicnn", "MSD_vgg", "MTT_vgg"])
    args = ap.parse_args()

    import musicnn
    import soundfile as sf
    import tensorflow as tf
    from musicnn import configuration as config
    from musicnn import models
    from musicnn.extractor import batch_data
    from tensorflow.python.training import py_checkpoint_reader

    vgg = args.model.endswith("_vgg")
    tag = args.model.split("_")[0].lower()
    name = f"vgg_{tag}" if vgg else tag  # file: musicnn_<name>.npz
    ckpt = os.path.join(os.path.dirname(musicnn.__file__), args.model) + "/"
    reader = py_checkpoint_reader.NewCheckpointReader(ckpt)
    weights = convert_vgg(reader) if vgg else convert(reader)
    labels = config.MSD_LABELS if tag == "msd" else config.MTT_LABELS
    dest = ROOT / "src/genrekit/pretrained" / f"musicnn_{name}.npz"
    np.savez(dest, **weights, tags=np.array(labels), licence=np.array(LICENCE))
    print(f"wrote {dest} ({dest.stat().st_size / 1e6:.2f} MB, {len(weights)} tensors)")

    # Reference outputs from musicnn's own graph with the checkpoint's values assigned.
    clip = synthetic_clip()
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "clip.wav")
        sf.write(wav, clip, 16000, subtype="PCM_16")
        patches, _ = batch_data(wav, 187, 187)
    noise = np.random.default_rng(0).gamma(2.0, 0.6, size=(1, 187, 96)).astype(np.float32)
    x_in = np.concatenate([noise, patches[:1].astype(np.float32)])

    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.reset_default_graph()
    x = tf.compat.v1.placeholder(tf.float32, [None, 187, config.N_MELS])
    is_training = tf.compat.v1.placeholder(tf.bool)
    out = models.define_model(x, is_training, args.model, len(labels))
    ref = ROOT / "tests/data" / f"musicnn_{name}_reference.npz"
    ref.parent.mkdir(exist_ok=True)
    with tf.compat.v1.Session() as sess:
        for v in tf.compat.v1.global_variables():
            sess.run(v.assign(reader.get_tensor(v.op.name)))
        if vgg:  # (logits, pool1..pool5)
            probs, pool5 = sess.run([tf.nn.sigmoid(out[0]), tf.compat.v1.layers.flatten(
                out[5])], {x: x_in, is_training: False})
            np.savez_compressed(ref, input=x_in, clip=clip, tag_probs=probs, pool5=pool5)
        else:
            logits, mean_pool, max_pool, penultimate = out[0], out[6], out[7], out[8]
            probs, mp, mx, pen = sess.run([tf.nn.sigmoid(logits), mean_pool, max_pool,
                                           penultimate], {x: x_in, is_training: False})
            np.savez_compressed(ref, input=x_in, clip=clip, tag_probs=probs, mean_pool=mp,
                                max_pool=mx, penultimate=pen)
    print(f"wrote {ref}; top tags of the clip: "
          f"{[labels[i] for i in np.argsort(-probs[1])[:3]]}")


if __name__ == "__main__":
    main()
