"""``GenreClassifier``: a trained checkpoint as ``predict`` / ``predict_proba`` on audio.

preprocess (decode at the model's rate -> features) -> forward (slices on a fixed grid,
batched across songs, through the runner: standardise, model, temperature, softmax) ->
postprocess (aggregate to one song label, per-slice timeline).

Every classifier (this one, and ``inference.ensemble.EnsembleClassifier``) has the surface
of :class:`SongClassifier`, which the CLI, the server, tagging and the Ray engine use;
:func:`load_classifier` is how they get one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ..audio import DEFAULT_MAX_DURATION, array_audio
from ..errors import NotFittedError, ParameterError
from .aggregate import RULES
from .base import ClassifierBase, SongClassifier
from .prediction import Prediction, Segment, make_prediction, slice_timeline

__all__ = ["GenreClassifier", "Prediction", "Segment", "SongClassifier", "load_classifier"]

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "pretrained" / "default.pt"
#: The same model exported to ONNX (float32; onnxruntime, no torch).
DEFAULT_ONNX = DEFAULT_MODEL.with_suffix(".onnx")
#: Where an int8 version of it would ship (``genrekit.quantize``), run by ``from_pretrained``
#: on a CPU with VNNI. None ships with the default v3: with its dead front-end filters
#: skipped (``models.musicnn._live_filters``) it runs as fast in float (MODEL_CARD.md).
DEFAULT_INT8 = DEFAULT_MODEL.with_suffix(".int8.onnx")
PRECISIONS = ("auto", "int8", "float")


class GenreClassifier(ClassifierBase):
    """A loaded model with its label list, feature spec, slicing and normalisation.

    Use :meth:`load` (a checkpoint) or :meth:`from_pretrained` (the bundled model).
    """

    def __init__(self, meta: dict, runner, *, source: str = "<checkpoint>",
                 aggregate: str | None = None,
                 max_duration: float | None = DEFAULT_MAX_DURATION, tta: int = 0,
                 novelty_threshold: float | None = None, min_confidence: float | None = None,
                 set_level: float | None = None, explain: bool = False):
        """``meta``: a checkpoint's (or ONNX file's) classes, features, slices, model,
        metrics, open-set model; ``runner``: slices -> probabilities (see
        ``inference.runners``). ``novelty_threshold`` / ``min_confidence``: when a song is
        ``unknown`` (default: the model's own, see ``inference.open_set``); ``set_level``:
        also give each song's conformal prediction set at this level (e.g. 0.9); ``explain``:
        also the 3 training songs most like each song (from the novelty model's bank)."""
        from ..data.slices import slice_frames
        from ..features.registry import inference_backend
        from ..features.spec import FeatureSpec
        from ..features.torch_backend_support import torch_supports

        self.source = source
        self.runner = runner
        self.classes_ = list(meta["classes"])
        self.spec = FeatureSpec.from_dict(meta["features"])
        self.slices = dict(meta["slices"])
        self.width, self.hop = slice_frames(self.slices, self.spec)
        self.rule = aggregate or self.slices.get("aggregate", "confidence")
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
        # on a GPU the features are computed there too (stft/mel/hpss/mfcc); on the CPU in
        # numpy alone where the spec allows (the bundled model's mel_logc), else numba
        on_gpu = getattr(getattr(runner, "device", None), "type", "cpu") == "cuda"
        self.feature_backend = ("torch" if on_gpu and torch_supports(self.spec)
                                else inference_backend(self.spec))
        if self.feature_backend == "fast":  # features beyond the numpy backend's
            from ..extras import require

            require("train")
        self._device_features = None
        #: also compute song embeddings without a novelty model (``Prediction.embedding``)
        self.keep_embeddings = False
        self.explain = bool(explain)
        self._set_open_set(meta, novelty_threshold, min_confidence, set_level)

    def _set_open_set(self, meta, novelty_threshold, min_confidence, set_level) -> None:
        from .open_set import check_level, check_threshold, read_open_set

        if novelty_threshold is not None:
            check_threshold(novelty_threshold, "novelty threshold", low_open=True)
        if min_confidence is not None:
            check_threshold(min_confidence, "min confidence", low_open=False)
        if set_level is not None:
            check_level(set_level)
        self.open_set, self.open_set_missing = read_open_set(meta)
        if self.open_set is not None and not getattr(self.runner, "embeds", False):
            self.open_set, self.open_set_missing = None, (
                "its graph has no embedding output (exported before novelty models: "
                "re-export it)")
        if self.open_set is not None and self.open_set.num_classes != len(self.classes_):
            self.open_set, self.open_set_missing = None, (
                "its novelty model does not match its classes")
        # the thresholds in use: the caller's, else the model's (the library default)
        self.novelty_threshold = (novelty_threshold if novelty_threshold is not None else
                                  getattr(self.open_set, "novelty_threshold", None))
        self.min_confidence = (min_confidence if min_confidence is not None else
                               getattr(self.open_set, "min_confidence", None))
        if set_level is not None and self.open_set is None:
            from ..errors import ParameterError

            why = self.open_set_missing or "no conformal calibration"
            raise ParameterError(
                f"{Path(str(self.source)).name}: no prediction sets ({why}); --set needs a "
                "model with its calibration songs (the bundled one, or one from genrekit "
                "finetune or train --head song)")
        self.set_level = set_level

    # --- construction -----------------------------------------------------------------
    @classmethod
    def load(cls, path, *, device: str = "cpu", **kwargs) -> SongClassifier:
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
            return cls.load_ensemble(ckpt, source=str(path), device=device, **kwargs)
        return cls(ckpt, TorchRunner.from_checkpoint(ckpt, str(path), device),
                   source=str(path), **kwargs)

    @classmethod
    def load_ensemble(cls, ens: dict, *, source="<ensemble>", device: str = "cpu",
                      **kwargs) -> SongClassifier:
        """An ensemble dict's classifier: one GenreClassifier over an ``EnsembleNet`` when the
        members share features and slicing (slice probabilities averaged, one feature pass),
        else an ``EnsembleClassifier`` over the members (song scores averaged)."""
        from .ensemble import EnsembleClassifier, same_grid
        from .runners import TorchRunner

        if same_grid(ens):
            meta = {**ens["members"][0], "model": ens["model"],
                    "metrics": ens.get("metrics", {})}
            return cls(meta, TorchRunner.from_checkpoint(ens, source, device), source=source,
                       **kwargs)
        members = [cls(m, TorchRunner.from_checkpoint(m, source, device), source=source,
                       **kwargs) for m in ens["members"]]
        return EnsembleClassifier(ens, members, source=source)

    @classmethod
    def from_pretrained(cls, name: str = "default", *, device: str = "cpu",
                        runtime: str = "auto", precision: str = "auto",
                        **kwargs) -> GenreClassifier:
        """The bundled model (see MODEL_CARD.md). ``runtime``: ``"onnx"`` (onnxruntime: no
        torch import, the fastest start), ``"torch"``, or ``"auto"`` (onnx on the CPU).
        ``precision`` of the ONNX graph: ``"float"``, ``"int8"`` (a quantised graph, where
        one ships: none does with the default v3), or ``"auto"`` (int8 where one ships and
        the CPU has VNNI, else float)."""
        if name != "default":
            raise ParameterError(f"unknown pretrained model {name!r} (bundled: default)")
        from ..extras import has

        if runtime not in ("auto", "onnx", "torch"):
            raise ParameterError(f"runtime must be auto, onnx or torch, got {runtime!r}")
        if precision not in PRECISIONS:
            raise ParameterError(f"precision must be {', '.join(PRECISIONS)}, got "
                                 f"{precision!r}")
        use_onnx = runtime == "onnx" or (runtime == "auto" and device == "cpu"
                                         and DEFAULT_ONNX.exists() and has("onnxruntime"))
        path = DEFAULT_ONNX if use_onnx else DEFAULT_MODEL
        if use_onnx and precision != "float":
            if not DEFAULT_INT8.exists():
                if precision == "int8":
                    raise ParameterError("no int8 graph ships with the bundled model: it runs "
                                         "as fast in float (see MODEL_CARD.md); use "
                                         "--precision float or auto")
            else:
                from .runners import int8_ok  # read only when there is a choice to make

                if precision == "int8" or int8_ok():
                    path = DEFAULT_INT8
        if not path.exists():
            raise NotFittedError(f"the bundled model is missing at {path}; "
                                 "reinstall genrekit or pass --model PATH")
        if use_onnx:
            return cls.load(path, **kwargs)
        return cls.load(path, device=device, **kwargs)

    # --- preprocess -------------------------------------------------------------------
    @property
    def file_job(self):
        """How a file becomes this model's features (the engines' per-file job)."""
        from ..engine.jobs import FileJob

        backend = None if self.feature_backend == "torch" else self.feature_backend
        return FileJob.of(self.spec, max_duration=self.max_duration, backend=backend)

    def features(self, path_or_array, sr: int | None = None) -> np.ndarray:
        """Features ``[C, F, T]`` of a file, or of an array at rate ``sr`` (required)."""
        if isinstance(path_or_array, (str, Path)):
            if self.feature_backend != "torch":  # a long file's block by block, never whole
                return self.file_job.features(path_or_array)
            y = self.file_job.decode(path_or_array)
        else:
            y = array_audio(path_or_array, sr, self.spec.sr, max_duration=self.max_duration)
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
    def slice_probs(self, feats: list[np.ndarray], batch_size: int | None = None):
        """``(probabilities [N_i, K] per song, start frames per song)`` of every song's grid
        slices (with this classifier's test-time augmentation), batched across songs."""
        from .apply import song_slice_probs

        return song_slice_probs(self.runner, feats, width=self.width, hop=self.hop,
                                batch_size=batch_size or self.batch_size, tta=self.tta)

    def slice_outputs(self, feats: list[np.ndarray], batch_size: int | None = None):
        """As :meth:`slice_probs`, plus the slice embeddings per song when the model has
        a novelty model (else None)."""
        from .apply import song_slice_outputs

        return song_slice_outputs(self.runner, feats, width=self.width, hop=self.hop,
                                  batch_size=batch_size or self.batch_size, tta=self.tta,
                                  embeddings=self.open_set is not None or self.keep_embeddings)

    def judge(self, song: np.ndarray, embedding: np.ndarray | None) -> dict:
        """What the open-set model says of one song (scores ``[K]``, its mean slice
        embedding ``[D]``): ``novelty``, ``unknown``, ``prediction_set``, ``neighbours``
        (keywords of ``make_prediction``). Without a novelty model only an explicit
        ``min_confidence`` can make a song unknown."""
        os_ = self.open_set
        if os_ is None or embedding is None:
            # no novelty model: no novelty and no set, but a min confidence the caller gave
            # still applies
            mc = self.min_confidence
            return {"unknown": bool(song.max() < mc)} if mc is not None else {}
        novelty = float(os_.novelty(embedding[None])[0])
        out = {"novelty": novelty,
               "unknown": os_.abstains(novelty, float(song.max()),
                                       novelty_threshold=self.novelty_threshold,
                                       min_confidence=self.min_confidence)}
        if self.set_level is not None:
            out["prediction_set"] = os_.prediction_set(song, self.set_level)
            out["set_level"] = self.set_level
        if self.explain and os_.bank_names:
            out["neighbours"] = [
                {"song": os_.bank_names[i], "genre": self.classes_[int(os_.bank_labels[i])],
                 "similarity": sim} for i, sim in os_.neighbours(embedding)]
        return out

    def predict_features(self, songs: list[tuple[str, np.ndarray]], *, top_k: int = 3,
                         batch_size: int | None = None) -> list[Prediction]:
        """Predictions of songs whose features ``[C, F, T]`` are computed already (e.g. read
        from the feature cache), slices batched across songs."""
        if not songs:
            return []
        Ps, sts, Es = self.slice_outputs([X for _, X in songs], batch_size)
        Es = Es or [None] * len(songs)
        return [self.song_prediction(path, P, st, E, X.shape[-1], top_k)
                for (path, X), P, st, E in zip(songs, Ps, sts, Es, strict=True)]

    def song_prediction(self, path, P: np.ndarray, starts: list[int], E: np.ndarray | None,
              frames: int, top_k: int) -> Prediction:
        """One song's prediction from its slices' probabilities ``P``, start frames,
        embeddings ``E`` (or None) and its length in frames."""
        from .aggregate import aggregate

        fps = self.spec.frames_per_second
        duration = frames / fps
        timeline = slice_timeline(P, starts, self.classes_, width=self.width, fps=fps,
                                  duration=duration)
        song = aggregate(P, self.rule)
        z = None if E is None else E.mean(0)  # what the head and the novelty model read
        return make_prediction(song, self.classes_, top_k=top_k, timeline=timeline,
                               duration=duration, rule=self.rule, path=path, embedding=z,
                               **self.judge(song, z))

    # --- long files: block by block -------------------------------------------------------
    @property
    def streams(self) -> bool:
        """Whether long files run block by block (``inference.long_files``): features
        computed frame by frame on the CPU (``features.stream.streamable``)."""
        from ..features.stream import streamable

        return self.feature_backend != "torch" and streamable(self.spec)

    def predict(self, path_or_array, sr: int | None = None, *, top_k: int = 3) -> Prediction:
        """The genre of one file (a long one block by block: ``inference.long_files``,
        bounded memory, decode overlapped with the model, the same result as its whole
        features) or of an array at rate ``sr``."""
        if isinstance(path_or_array, (str, Path)) and self.streams:
            from .long_files import predict_file

            return predict_file(self, path_or_array, top_k=top_k)
        return super().predict(path_or_array, sr, top_k=top_k)

    def predict_many(self, paths: Iterable, *, top_k: int = 3, jobs: int = 1,
                     songs_per_batch: int = 8, batch_size: int | None = None,
                     progress: Callable[[str, str], None] | None = None,
                     ) -> Iterator[tuple[str, Prediction | None, str | None]]:
        """Yield ``(path, Prediction or None, error or None)`` in input order.

        Decoding and features run in ``jobs`` worker processes; the model sees batches of
        ``batch_size`` slices (default: the model's ``inference_batch_size``, see
        ``self.batch_size``) drawn from ``songs_per_batch`` songs at a time. With one job,
        a long file runs block by block in this process (``inference.long_files``:
        bounded memory, decode overlapped with the model). A bad file yields its error and the rest
        go on.
        """
        paths = [str(p) for p in paths]
        if jobs > 1 or not self.streams:
            yield from self.predict_groups(paths, top_k, jobs, songs_per_batch, batch_size,
                                           progress)
            return
        from .long_files import predict_in_turn

        yield from predict_in_turn(self, paths, top_k=top_k, songs_per_batch=songs_per_batch,
                                   batch_size=batch_size, progress=progress)

    def predict_groups(self, paths: list[str], top_k, jobs, songs_per_batch, batch_size,
                       progress):
        """:meth:`predict_many` of whole files: decoded (and featurised) by ``jobs``
        workers, the model over groups of ``songs_per_batch`` songs."""
        from ..engine.stream import decode_stream

        on_gpu = self.feature_backend == "torch"  # else workers compute features on CPU
        for group in decode_stream(paths, self.file_job, jobs, songs_per_batch,
                                   features=not on_gpu):
            if on_gpu:
                group = [(p, None if err else self.features_from_audio(a), err)
                         for p, a, err in group]
            yield from self.predict_group(group, top_k, batch_size, progress)

    def predict_group(self, group: list[tuple], top_k: int, batch_size: int | None,
                      progress) -> Iterator[tuple[str, Prediction | None, str | None]]:
        """``(path, Prediction or None, error or None)`` of a group of ``(path, features
        or None, error or None)``: the good songs' slices batched together, in order."""
        good = [(p, X) for p, X, err in group if err is None]
        results = dict(zip([p for p, _ in good],
                           self.predict_features(good, top_k=top_k, batch_size=batch_size),
                           strict=True))
        for p, _, err in group:
            if progress:
                progress(p, "failed" if err else "done")
            yield p, results.get(p), err


def load_classifier(model=None, *, device: str = "cpu", aggregate: str | None = None,
                    tta: int = 0, max_duration: float | None = DEFAULT_MAX_DURATION,
                    precision: str = "auto", novelty_threshold: float | None = None,
                    min_confidence: float | None = None,
                    set_level: float | None = None, explain: bool = False) -> SongClassifier:
    """The classifier of a model file (``.pt`` checkpoint or ensemble, ``.onnx``), or of
    the bundled model when ``model`` is None (``precision``: see ``from_pretrained``): what
    every command, the server and the Ray engine use."""
    kw = {"aggregate": aggregate, "tta": tta, "max_duration": max_duration,
          "novelty_threshold": novelty_threshold, "min_confidence": min_confidence,
          "set_level": set_level, "explain": explain}
    if model:
        return GenreClassifier.load(model, device=device, **kw)
    return GenreClassifier.from_pretrained(device=device, precision=precision, **kw)
