"""One config of frozen dataclasses: load from YAML, override with ``--set a.b=value``.

Sections: ``features`` (FeatureSpec), ``slices``, ``model``, ``train``, ``augment``. The
whole config is written into every run folder and checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import ConfigError, ParameterError, suggest
from .features.spec import FeatureSpec
from .paths import default_cache
from .training.augment import AugmentConfig


@dataclass(frozen=True)
class SliceConfig:
    slice_seconds: float = 3.0  # width of one model input
    slice_hop_seconds: float = 1.5  # grid step at evaluation/prediction

    def __post_init__(self):
        if self.slice_seconds <= 0 or self.slice_hop_seconds <= 0:
            raise ParameterError(f"slice_seconds and slice_hop_seconds must be > 0, got "
                                 f"{self.slice_seconds}, {self.slice_hop_seconds}")


@dataclass(frozen=True)
class ModelConfig:
    name: str = "cnn"
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2
    schedule: str = "cosine"  # cosine | onecycle | constant
    crops_per_song: int = 8  # random slices drawn per training song per epoch
    class_weights: bool = True  # inverse-frequency weighted cross-entropy
    class_weight_power: float = 0.5
    balanced_sampler: bool = True  # upsample rare genres
    label_smoothing: float = 0.0
    patience: int = 10  # epochs without a better valid macro-F1 before stopping (0: never)
    freeze_epochs: int = 0  # fine-tuning: train only the new head for this many epochs
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: bool = True  # mixed precision on GPU (ignored on CPU)
    valid_fraction: float = 0.2  # used when the catalog has no splits
    aggregate: str = "confidence"  # slice -> song rule (validation, and the checkpoint's)
    # head: "slice" trains the head on slices for `epochs`; "song" (frozen backbone only)
    # fits a linear head on each song's mean slice embedding in one pass (training.song_head;
    # use it with aggregate: geometric, which makes slice and song model the same)
    head: str = "slice"
    head_c: float = 0.1  # inverse L2 strength of the song head (as scikit-learn's C)
    cache_dir: str = field(default_factory=default_cache)  # the user cache folder
    jobs: int = 1
    # auto: the fast CPU backend, or the torch backend on the training GPU when the fast
    # backend's cache does not already hold the catalog (training.songs.choose_backend)
    feature_backend: str = "auto"  # auto | fast | reference | torch

    def __post_init__(self):
        if self.schedule not in ("cosine", "onecycle", "constant"):
            raise ParameterError(f"train.schedule must be cosine, onecycle or constant, "
                                 f"got {self.schedule!r}")
        for name in ("epochs", "batch_size", "crops_per_song"):
            if getattr(self, name) < 1:
                raise ParameterError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ParameterError(f"train.lr must be > 0, got {self.lr}")
        if self.head not in ("slice", "song"):
            raise ParameterError(f"train.head must be slice or song, got {self.head!r}")
        if self.head == "song" and not (self.epochs == 1 and self.freeze_epochs >= 1):
            raise ParameterError("train.head=song fits the head in one pass on the frozen "
                                 "backbone's embeddings: set train.epochs=1 and "
                                 "train.freeze_epochs=1")
        if self.head_c <= 0:
            raise ParameterError(f"train.head_c must be > 0, got {self.head_c}")
        if self.feature_backend not in ("auto", "fast", "reference", "torch"):
            raise ParameterError(f"train.feature_backend must be auto, fast, reference or "
                                 f"torch, got {self.feature_backend!r}")


@dataclass(frozen=True)
class Config:
    features: FeatureSpec = field(default_factory=lambda: FeatureSpec(names=("mel", "hpss")))
    slices: SliceConfig = field(default_factory=SliceConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        return {"features": self.features.to_dict(),
                "slices": dataclasses.asdict(self.slices),
                "model": {"name": self.model.name, "kwargs": dict(self.model.kwargs)},
                "train": dataclasses.asdict(self.train),
                "augment": dataclasses.asdict(self.augment)}

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        d = d or {}
        _check_keys(d, {"features", "slices", "model", "train", "augment"}, "")
        sections = {}
        for name, klass in (("features", FeatureSpec), ("slices", SliceConfig),
                            ("model", ModelConfig), ("train", TrainConfig),
                            ("augment", AugmentConfig)):
            sub = d.get(name) or {}
            if not isinstance(sub, dict):
                raise ConfigError(f"config section {name!r} must be a mapping, got {sub!r}")
            if name != "model" or "kwargs" not in sub:
                _check_keys(sub, {f.name for f in dataclasses.fields(klass)}, name + ".")
            if name == "features" and "names" in sub and isinstance(sub["names"], list):
                sub = {**sub, "names": tuple(sub["names"])}
            try:
                sections[name] = klass(**sub)
            except TypeError as exc:
                raise ConfigError(f"config section {name!r}: {exc}") from None
        return cls(**sections)

    def override(self, assignments: list[str]) -> Config:
        """Apply ``section.key=value`` strings (values parsed as YAML scalars/lists)."""
        from .userfiles import load_yaml_text

        d = self.to_dict()
        for a in assignments:
            if "=" not in a:
                raise ConfigError(f"override {a!r} must look like section.key=value")
            key, raw = a.split("=", 1)
            parts = key.strip().split(".")
            if len(parts) < 2:
                raise ConfigError(f"override {key!r} must name a section, e.g. train.lr")
            node = d
            for p in parts[:-1]:
                if p not in node or not isinstance(node[p], dict):
                    raise ConfigError(f"unknown config section {'.'.join(parts[:-1])!r}"
                                      f"{suggest(p, node)}")
                node = node[p]
            if parts[-1] not in node and parts[-2] != "kwargs":
                raise ConfigError(f"unknown config key {key!r}{suggest(parts[-1], node)}")
            node[parts[-1]] = _scalar(load_yaml_text(raw, f"override {key!r}"))
        return Config.from_dict(d)


def load_config(path=None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the YAML file (if any), then the overrides."""
    cfg = Config()
    if path:
        from .userfiles import load_yaml

        data = load_yaml(path, what="config") or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a config is a YAML mapping of sections")
        merged = cfg.to_dict()
        for k, v in data.items():
            if isinstance(v, dict) and isinstance(merged.get(k), dict):
                merged[k] = {**merged[k], **v}
            else:
                merged[k] = v
        cfg = Config.from_dict(merged)
    return cfg.override(overrides or [])


def _check_keys(d: dict, known: set, prefix: str):
    for k in d:
        if k not in known:
            raise ConfigError(f"unknown config key {prefix + k!r}{suggest(k, known)}")


def _scalar(v):
    """YAML 1.1 reads ``3e-4`` as a string; numbers written that way are numbers."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v
