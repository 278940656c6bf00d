"""``GenreClassifier``: a trained checkpoint as ``predict`` / ``predict_proba`` on audio.

preprocess (decode at the model's rate -> features) -> forward (standardise, slices on a
fixed grid, batched across songs) -> postprocess (softmax, aggregate to one song label,
per-slice timeline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import NotFittedError, ParameterError
from .aggregate import RULES, aggregate

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "pretrained" / "default.pt"
#: The same model exported to ONNX: what ``from_pretrained`` runs (onnxruntime, no torch).
DEFAULT_ONNX = DEFAULT_MODEL.with_suffix(".onnx")


@dataclass
class Segment:
    start: float  # seconds
    end: float
    label: str
    scores: dict[str, float]


@dataclass
class Prediction:
    """One song's result: ``label``, ``scores`` (class -> probability, sum 1), ``top_k``
    [(label, score)], ``timeline`` (one Segment per slice) and how it was aggregated."""

    label: str
    scores: dict[str, float]
    top_k: list[tuple[str, float]]
    timeline: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    aggregate: str = "confidence"
    path: str | None = None

    @property
    def score(self) -> float:
        return self.scores[self.label]

    def to_dict(self, timeline: bool = True) -> dict:
        d = {"file": self.path, "label": self.label, "score": round(self.score, 6),
             "top_k": [{"label": lbl, "score": round(s, 6)} for lbl, s in self.top_k],
             "scores": {k: round(v, 6) for k, v in self.scores.items()},
             "duration": round(self.duration, 3), "aggregate": self.aggregate}
        if timeline:
            d["timeline"] = [{**asdict(s), "scores": {k: round(v, 6) for k, v in
                                                       s.scores.items()}}
                             for s in self.timeline]
        return d


class GenreClassifier:
    """A loaded model with its label list, feature spec, slicing and normalisation.

    Use :meth:`load` (a checkpoint) or :meth:`from_pretrained` (the bundled model).
    """

    def __init__(self, meta: dict, runner, *, source: str = "<checkpoint>",
                 aggregate: str | None = None, max_duration: float | None = 600.0,
                 tta: int = 0):
        """``meta``: a checkpoint's (or ONNX file's) classes, features, slices, model,
        metrics; ``runner``: slices -> probabilities (see ``inference.runners``)."""
        from ..data.slices import seconds_to_frames
        from ..features.spec import FeatureSpec
        from ..features.torch_backend_support import torch_supports

        self.source = source
        self.runner = runner
        self.classes_ = list(meta["classes"])
        self.spec = FeatureSpec.from_dict(meta["features"])
        sl = meta["slices"]
        self.slices = dict(sl)
        self.width = seconds_to_frames(sl["slice_seconds"], self.spec.sr, self.spec.hop_length)
        self.hop = seconds_to_frames(sl["slice_hop_seconds"], self.spec.sr,
                                     self.spec.hop_length)
        self.rule = aggregate or sl.get("aggregate", "confidence")
        if self.rule not in RULES:
            raise ParameterError(f"unknown aggregation rule {self.rule!r} "
                                 f"(known: {', '.join(RULES)})")
        self.metrics = meta.get("metrics", {})
        self.model_name = meta["model"]["name"]
        # slices per forward pass: what the model measured best (musicnn: 1, its activations
        # are ~45 MB a slice), else 16
        self.batch_size = int(meta["model"].get("inference_batch_size", 16))
        self.max_duration = max_duration
        self.tta = int(tta)  # test-time augmentation: also +-1..tta mel-bin pitch shifts
        # on a GPU the features are computed there too (stft/mel/hpss/mfcc); else numba
        on_gpu = getattr(getattr(runner, "device", None), "type", "cpu") == "cuda"
        self.feature_backend = "torch" if on_gpu and torch_supports(self.spec) else "fast"
        self._device_features = None

    # --- construction -----------------------------------------------------------------
    @classmethod
    def load(cls, path, *, device: str = "cpu", **kwargs) -> GenreClassifier:
        """A ``.pt`` checkpoint (torch) or a ``.onnx`` export (onnxruntime, no torch)."""
        from .runners import OnnxRunner, TorchRunner, read_onnx_meta

        if str(path).lower().endswith(".onnx"):
            if not Path(path).exists():
                from ..errors import CheckpointError

                raise CheckpointError(path, "model file not found")
            runner = OnnxRunner(path)
            return cls(read_onnx_meta(path, runner.session), runner, source=str(path),
                       **kwargs)
        from ..checkpoint import load_checkpoint

        ckpt = load_checkpoint(path)
        if ckpt.get("kind") == "ensemble":
            from .ensemble import load_ensemble

            return load_ensemble(ckpt, source=str(path), device=device, **kwargs)
        return cls(ckpt, TorchRunner(ckpt, str(path), device), source=str(path), **kwargs)

    @classmethod
    def from_pretrained(cls, name: str = "default", *, device: str = "cpu",
                        runtime: str = "auto", **kwargs) -> GenreClassifier:
        """The bundled model (see MODEL_CARD.md). ``runtime``: ``"onnx"`` (onnxruntime: no
        torch import, the fastest start), ``"torch"``, or ``"auto"`` (onnx on the CPU)."""
        if name != "default":
            raise ParameterError(f"unknown pretrained model {name!r} (bundled: default)")
        if runtime not in ("auto", "onnx", "torch"):
            raise ParameterError(f"runtime must be auto, onnx or torch, got {runtime!r}")
        use_onnx = runtime == "onnx" or (runtime == "auto" and device == "cpu"
                                         and DEFAULT_ONNX.exists() and _has_onnxruntime())
        path = DEFAULT_ONNX if use_onnx else DEFAULT_MODEL
        if not path.exists():
            raise NotFittedError(f"the bundled model is missing at {path}; "
                                 "reinstall genrekit or pass --model PATH")
        if use_onnx:
            return cls.load(path, **kwargs)
        return cls.load(path, device=device, **kwargs)

    # --- preprocess -------------------------------------------------------------------
    def features(self, path_or_array, sr: int | None = None) -> np.ndarray:
        """Features ``[C, F, T]`` of a file, or of an array at rate ``sr`` (required)."""
        from ..preprocess import check_signal, decode_checked

        if isinstance(path_or_array, (str, Path)):
            y = decode_checked(path_or_array, self.spec, max_duration=self.max_duration)
            return self.features_from_audio(y)
        else:
            if sr is None:
                raise ParameterError("sr is required with an array: pass the rate the "
                                     "samples were recorded at (never assumed)")
            y = np.asarray(path_or_array, dtype=np.float32)
            if y.ndim == 2:  # [channels, n] -> mono
                y = y.mean(axis=0)
            if self.max_duration:
                y = y[: int(self.max_duration * sr)]
            check_signal(y, sr, "<array>")
            if sr != self.spec.sr:
                from ..audio import resample

                y = resample(y, sr, self.spec.sr)
        return self.features_from_audio(y)

    def features_from_audio(self, y: np.ndarray) -> np.ndarray:
        """Features of mono audio already at ``spec.sr``, on this classifier's backend."""
        if self.feature_backend != "torch":
            from ..features import compute_features

            return compute_features(y, self.spec.sr, self.spec, backend=self.feature_backend)
        if self._device_features is None:
            from ..features.torch_backend import DeviceFeatures

            self._device_features = DeviceFeatures(self.spec,
                                                  getattr(self.runner, "device", "cpu"))
        return self._device_features([np.ascontiguousarray(y, dtype=np.float32)])[0]

    # --- forward + postprocess ------------------------------------------------------------
    def _slice_probs(self, feats: list[np.ndarray], batch_size: int | None = None):
        """Slice probabilities of several songs, batched across songs."""
        from ..data.slices import grid_slices

        slices, starts, owner = [], [], []
        for i, X in enumerate(feats):
            S, st = grid_slices(X, self.width, self.hop)
            slices.append(S)
            starts.append(st)
            owner += [i] * len(st)
        allS = np.concatenate(slices)
        batch_size = batch_size or self.batch_size
        P = self._run(allS, batch_size)
        if self.tta:  # the mean over pitch-shifted copies of every slice
            F = allS.shape[2]
            shifts = [k for k in range(-self.tta, self.tta + 1) if k]
            for k in shifts:
                P = P + self._run(allS[:, :, np.clip(np.arange(F) - k, 0, F - 1), :],
                                  batch_size)
            P = P / (1 + len(shifts))
        owner = np.asarray(owner)
        return [P[owner == i] for i in range(len(feats))], starts

    def _run(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        return np.concatenate([self.runner(x[b:b + batch_size])
                               for b in range(0, len(x), batch_size)])

    def _postprocess(self, P, starts, n_frames, top_k, path=None) -> Prediction:
        song = aggregate(P, self.rule)
        fps = self.spec.sr / self.spec.hop_length
        duration = n_frames / fps
        order = np.argsort(-song)[: max(1, top_k)]
        timeline = [Segment(round(s / fps, 3), round(min((s + self.width) / fps, duration), 3),
                            self.classes_[int(p.argmax())],
                            {c: float(v) for c, v in zip(self.classes_, p, strict=True)})
                    for s, p in zip(starts, P, strict=True)]
        return Prediction(label=self.classes_[int(song.argmax())],
                          scores={c: float(v) for c, v in zip(self.classes_, song, strict=True)},
                          top_k=[(self.classes_[i], float(song[i])) for i in order],
                          timeline=timeline, duration=duration, aggregate=self.rule,
                          path=None if path is None else str(path))

    def predict(self, path_or_array, sr: int | None = None, *, top_k: int = 3) -> Prediction:
        """The genre of one file (or array at rate ``sr``)."""
        X = self.features(path_or_array, sr)
        (P,), (st,) = self._slice_probs([X])
        path = path_or_array if isinstance(path_or_array, (str, Path)) else None
        return self._postprocess(P, st, X.shape[-1], top_k, path)

    def predict_proba(self, path_or_array, sr: int | None = None) -> np.ndarray:
        """Song probabilities ``[K]`` in the order of ``classes_``."""
        p = self.predict(path_or_array, sr)
        return np.array([p.scores[c] for c in self.classes_], dtype=np.float32)

    def predict_features(self, songs: list[tuple[str, np.ndarray]], *, top_k: int = 3,
                         batch_size: int | None = None) -> list[Prediction]:
        """Predictions of songs whose features ``[C, F, T]`` are computed already (e.g. read
        from the feature cache), slices batched across songs."""
        if not songs:
            return []
        Ps, sts = self._slice_probs([X for _, X in songs], batch_size)
        return [self._postprocess(P, st, X.shape[-1], top_k, p)
                for (p, X), P, st in zip(songs, Ps, sts, strict=True)]

    def predict_many(self, paths: Iterable, *, top_k: int = 3, jobs: int = 1,
                     songs_per_batch: int = 8, batch_size: int | None = None,
                     progress: Callable[[str, str], None] | None = None,
                     ) -> Iterator[tuple[str, Prediction | None, str | None]]:
        """Yield ``(path, Prediction or None, error or None)`` in input order.

        Decoding and features run in ``jobs`` worker processes; the model sees batches of
        ``batch_size`` slices (default: the model's ``inference_batch_size``, see
        ``self.batch_size``) drawn from ``songs_per_batch`` songs at a time (16 keeps the
        CNN's activations, and so peak memory, small on a CPU; raise it on a GPU). A bad
        file yields its error and the rest go on.
        """
        paths = [str(p) for p in paths]
        on_gpu = self.feature_backend == "torch"  # else workers compute features on CPU
        from .stream import decode_stream

        for group in decode_stream(paths, self.spec, jobs, songs_per_batch,
                                    self.max_duration, features=not on_gpu):
            good = [(p, self.features_from_audio(a) if on_gpu else a)
                    for p, a, err in group if err is None]
            results = dict(zip([p for p, _ in good],
                               self.predict_features(good, top_k=top_k, batch_size=batch_size),
                               strict=True))
            for p, _, err in group:
                if progress:
                    progress(p, "failed" if err else "done")
                yield p, results.get(p), err


def _has_onnxruntime() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None
