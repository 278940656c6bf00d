"""``FeatureSpec``: the frozen description of a stack of feature channels."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from ..errors import ParameterError

#: Bump when any feature function changes its output: old cache entries then miss.
FEATURE_VERSION = 2


@dataclass(frozen=True)
class FeatureSpec:
    """What ``compute_features`` computes, with every DSP default set explicitly.

    Attributes:
        names: channel groups, stacked in order (see ``genrekit.features.list_features()``).
        sr: sample rate in Hz the audio is resampled to before anything else.
        n_fft, hop_length, win_length, window, center, pad_mode: the STFT.
        n_mels, fmin, fmax: mel filterbank (Slaney scale and norm, as librosa's default).
        n_mfcc, mfcc_deltas: MFCC count; with deltas, ``mfcc`` gives 3 channels (c, d, dd).
        hpss_kernel, hpss_margin, hpss_power: median-filter HPSS (librosa's soft masks).
        cqt_fmin, cqt_bins, cqt_bins_per_octave: constant-Q transform.
        n_chroma: chroma bins.
        amin: power floor; dB = 10*log10(max(amin, power) / 1.0), a *fixed* reference, so a
            slice's values never depend on the rest of the song (floor -100 dB by default).
    """

    names: tuple[str, ...] = ("mel",)
    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    win_length: int | None = None
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    n_mfcc: int = 20
    mfcc_deltas: bool = False
    hpss_kernel: int = 31
    hpss_margin: float = 1.0
    hpss_power: float = 2.0
    cqt_fmin: float = 32.703195662574764  # C1
    cqt_bins: int = 84
    cqt_bins_per_octave: int = 12
    n_chroma: int = 12
    amin: float = 1e-10

    def __post_init__(self):
        from .registry import FEATURES

        names = self.names
        if isinstance(names, str):
            names = tuple(n.strip() for n in names.split(",") if n.strip())
            object.__setattr__(self, "names", names)
        else:
            object.__setattr__(self, "names", tuple(names))
        if not self.names:
            raise ParameterError("FeatureSpec.names must name at least one feature")
        for n in self.names:
            if n not in FEATURES:
                from ..errors import suggest

                raise ParameterError(f"unknown feature {n!r}{suggest(n, FEATURES)} "
                                     f"(known: {', '.join(sorted(FEATURES))})")
        if len(set(self.names)) != len(self.names):
            raise ParameterError(f"feature names repeat: {self.names}")
        _positive(self, "sr", "n_fft", "hop_length", "n_mels", "n_mfcc", "hpss_kernel",
                  "cqt_bins", "cqt_bins_per_octave", "n_chroma", "amin")
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            raise ParameterError(f"win_length must be in (0, n_fft={self.n_fft}], "
                                 f"got {self.win_length}")
        nyq = self.sr / 2
        fmax = self.fmax if self.fmax is not None else nyq
        if not 0 <= self.fmin < fmax <= nyq:
            raise ParameterError(f"need 0 <= fmin < fmax <= sr/2 ({nyq:g} Hz), "
                                 f"got fmin={self.fmin}, fmax={self.fmax}")
        top = self.cqt_fmin * 2 ** (self.cqt_bins / self.cqt_bins_per_octave)
        if "cqt" in self.names or "chroma_cqt" in self.names:
            if top >= nyq:
                raise ParameterError(f"CQT's top bin ({top:.0f} Hz) must stay below sr/2 "
                                     f"({nyq:g} Hz): lower cqt_bins or cqt_fmin")
        heights = {n: FEATURES[n].height(self) for n in self.names}
        if len(set(heights.values())) > 1:
            desc = ", ".join(f"{n} ({h} bins)" for n, h in heights.items())
            raise ParameterError(f"cannot stack features of different heights: {desc}; "
                                 "choose features of one height (e.g. mel,hpss) or set "
                                 "n_mels/n_mfcc/cqt_bins to match")

    @property
    def n_channels(self) -> int:
        from .registry import FEATURES

        return sum(FEATURES[n].channels(self) for n in self.names)

    @property
    def height(self) -> int:
        from .registry import FEATURES

        return FEATURES[self.names[0]].height(self)

    @property
    def channel_names(self) -> list[str]:
        from .registry import FEATURES

        return [c for n in self.names for c in FEATURES[n].channel_names(self)]

    @property
    def frames_per_second(self) -> float:
        """Feature frames per second of audio (``sr / hop_length``)."""
        return self.sr / self.hop_length

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["names"] = list(self.names)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        extra = set(d) - known
        if extra:
            raise ParameterError(f"unknown FeatureSpec field(s): {', '.join(sorted(extra))}")
        d = dict(d)
        if "names" in d:
            d["names"] = tuple(d["names"])
        return cls(**d)

    def key(self) -> str:
        """Stable hash of the spec and the feature-code version (part of every cache key)."""
        blob = json.dumps({"spec": self.to_dict(), "version": FEATURE_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _positive(spec, *fields):
    for f in fields:
        v = getattr(spec, f)
        if not v > 0:
            raise ParameterError(f"FeatureSpec.{f} must be > 0, got {v!r}")
