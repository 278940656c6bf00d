"""The CV table's embeddings through the int8 graph: every labelled song's per-slice
``penultimate`` embedding computed by the bundled backbone quantised as ``genrekit export
--quantize int8`` would (``genrekit.quantize``; 512 calibration slices of the labelled
songs, seed 0; no int8 graph ships with the default any more, see MODEL_CARD.md), on the
prediction runtime's numpy features. Writes a copy of ``cv_embed.py``'s file with
``penultimate`` replaced, for ``accuracy_cv.py``:

  python benchmarks/cv_int8.py [--emb runs/cv/embeddings-msd.npz]
         [--out runs/cv/embeddings-msd-int8.npz]
  python benchmarks/accuracy_cv.py --emb runs/cv/embeddings-msd-int8.npz \\
         --recipes "song head: mean penultimate, C=0.01" --out runs/cv/report-int8.json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _shared import GTZAN


def main(argv=None) -> None:
    import torch

    from genrekit.checkpoint import load_checkpoint
    from genrekit.data import load_catalog
    from genrekit.data.slices import grid_slices
    from genrekit.inference.classifier import DEFAULT_MODEL, GenreClassifier
    from genrekit.inference.net import InferenceNet
    from genrekit.inference.runners import OnnxRunner
    from genrekit.quantize import calibration_slices, quantize_onnx

    ap = argparse.ArgumentParser()
    ap.add_argument("--emb", default="runs/cv/embeddings-msd.npz")
    ap.add_argument("--out", default="runs/cv/embeddings-msd-int8.npz")
    a = ap.parse_args(argv)
    z = dict(np.load(a.emb))
    paths = [str(p) for p in z["paths"]]
    clf = GenreClassifier.from_pretrained(precision="float")
    net = InferenceNet.from_checkpoint(load_checkpoint(DEFAULT_MODEL))

    class Embedding(torch.nn.Module):  # raw features -> the 200-d penultimate embedding
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.model.forward_features(self.net.standardize(x))

    with tempfile.TemporaryDirectory() as d:
        f, q = Path(d) / "emb.onnx", Path(d) / "emb.int8.onnx"
        torch.onnx.export(Embedding().eval(), (torch.zeros(2, 1, 96, clf.width),), str(f),
                          input_names=["features"], output_names=["emb"], opset_version=17,
                          dynamic_axes={"features": {0: "batch"}, "emb": {0: "batch"}},
                          dynamo=False)
        # the calibration of default.int8.onnx: tools/train_default.py's songs, its order
        cat = load_catalog(GTZAN)
        calib = [str(t.path) for t in cat if t.split in ("train", "valid")]
        x = calibration_slices(calib, clf.file_job, clf.width, clf.hop, n=512, seed=0)
        quantize_onnx(f, q, x)
        run = OnnxRunner(q)
        emb = []
        for i, p in enumerate(paths):
            S, _ = grid_slices(clf.features(p), clf.width, clf.hop)
            emb.append(np.concatenate([run(s[None]) for s in S]))
            if i % 50 == 0:
                print(f"{i}/{len(paths)}", flush=True)
    n = np.array([len(e) for e in emb])
    if not np.array_equal(n, z["n_slices"]):
        raise SystemExit("slice counts differ from the float embeddings' file")
    z["penultimate"] = np.concatenate(emb)
    np.savez(a.out, **z)
    print(f"wrote {a.out}: {len(paths)} songs, {n.sum()} slices")


if __name__ == "__main__":
    main()
