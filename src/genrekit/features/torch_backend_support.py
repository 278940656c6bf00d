"""Which FeatureSpecs the torch backend computes (importable without torch)."""

from __future__ import annotations

SUPPORTED = ("stft", "mel", "mel_logc", "hpss", "mfcc")


def torch_supports(spec) -> bool:
    return all(n in SUPPORTED for n in spec.names) and not spec.mfcc_deltas
