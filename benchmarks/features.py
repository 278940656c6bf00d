"""Feature backends side by side on shared GTZAN clips: plain librosa calls, the fast numba
backend and the torch backend (CPU), on one core (BLAS, numba and torch threads pinned to
1) and on all cores.

Prints per-clip ms, the speed-up over librosa at the same thread count, and the max abs dB
difference of both backends vs genrekit's librosa-based reference backend on bins above
-80 dB; decoding is timed separately.
Usage: python benchmarks/features.py [--n 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _shared import gtzan_clips

PIPELINES = {
    "hpss (STFT->HPSS->H+P log-mel)": ("hpss",),
    "mel": ("mel",),
    "mfcc": ("mfcc",),
    "mel+hpss (3 channels)": ("mel", "hpss"),
}


def librosa_calls(names):
    """What a user of librosa writes for these channels (same parameters as genrekit)."""
    import librosa

    kw = dict(n_fft=2048, hop_length=512)

    def db(P):
        return librosa.power_to_db(P, ref=1.0, amin=1e-10, top_db=None)

    def mel_of(S_power):
        return db(librosa.feature.melspectrogram(S=S_power, sr=22050, n_mels=128))

    def run(y):
        if names == ("mel",):
            return db(librosa.feature.melspectrogram(y=y, sr=22050, n_mels=128,
                                                     pad_mode="constant", **kw))
        if names == ("mfcc",):
            return librosa.feature.mfcc(y=y, sr=22050, n_mfcc=20, n_mels=128,
                                        pad_mode="constant", **kw)
        D = librosa.stft(y, pad_mode="constant", **kw)
        H, P = librosa.decompose.hpss(D, kernel_size=31)
        out = [mel_of(np.abs(H) ** 2), mel_of(np.abs(P) ** 2)]
        if "mel" in names:
            out.insert(0, mel_of(np.abs(D) ** 2))
        return np.stack(out)

    return run


def best_time(fn, audio, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for y in audio:
            fn(y)
        best = min(best, time.perf_counter() - t)
    return 1000 * best / len(audio)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()

    import numba
    from threadpoolctl import threadpool_limits

    from genrekit import FeatureSpec, compute_features, load_audio

    clips = gtzan_clips(a.n)
    t = time.perf_counter()
    audio = [load_audio(p)[0] for p in clips]
    decode_ms = 1000 * (time.perf_counter() - t) / len(clips)
    for name in PIPELINES.values():  # warm-up: numba compile, librosa caches
        compute_features(audio[0][:22050 * 2], 22050, FeatureSpec(names=name), backend="fast")
    cores = os.cpu_count() or 1
    print(f"{len(clips)} GTZAN clips of 30 s at 22.05 kHz; {cores} cores; "
          f"decode (soundfile + soxr) {decode_ms:.0f} ms/clip\n")
    import torch

    print("max |dB diff|: fast and torch backends vs the librosa-based reference backend\n")
    print(f"{'pipeline':32s} {'threads':>7s} {'librosa ms':>10s} {'fast ms':>8s} "
          f"{'speed-up':>8s} {'torch-cpu ms':>12s} {'speed-up':>8s} {'max |dB diff|':>13s}")
    for label, names in PIPELINES.items():
        spec = FeatureSpec(names=names)
        worst = 0.0
        for y in audio:
            R = compute_features(y, 22050, spec, backend="reference")
            for backend in ("fast", "torch"):
                X = compute_features(y, 22050, spec, backend=backend)
                m = R > -80
                worst = max(worst, float(np.max(np.abs(X[m] - R[m]), initial=0.0)))
        for threads in (1, cores):
            numba.set_num_threads(threads)
            torch.set_num_threads(threads)
            times = {}
            with threadpool_limits(threads):
                times["librosa"] = best_time(librosa_calls(names), audio, a.repeat)
                for backend in ("fast", "torch"):
                    times[backend] = best_time(
                        lambda y, s=spec, b=backend: compute_features(y, 22050, s, backend=b),
                        audio, a.repeat)
            ref = times["librosa"]
            print(f"{label:32s} {threads:7d} {ref:10.0f} {times['fast']:8.0f} "
                  f"{ref / times['fast']:7.1f}x {times['torch']:12.0f} "
                  f"{ref / times['torch']:7.1f}x {worst:13.1e}")
    if torch.cuda.is_available():
        gpu_batch(audio, a.repeat)


def gpu_batch(audio, repeat, batch=64):
    """HPSS-mel of a batch of 64 clips on the GPU vs the one-core librosa rate."""
    import torch

    from genrekit import FeatureSpec
    from genrekit.features.torch_backend import TorchFeatures

    spec = FeatureSpec(names=("hpss",))
    n = min(len(a) for a in audio)
    ys = torch.from_numpy(np.stack([audio[i % len(audio)][:n] for i in range(batch)]))
    mod = TorchFeatures(spec).cuda()
    with torch.inference_mode():
        mod(ys[:2].cuda())
        torch.cuda.synchronize()
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            mod(ys.cuda())
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # the one-core librosa rate, as in the table
        lib = best_time(librosa_calls(("hpss",)), audio[:2], repeat) / 1000
    print(f"\nGPU {torch.cuda.get_device_name()}: {batch} clips HPSS-mel in {best * 1000:.0f} ms "
          f"= {batch / best:.0f} clips/s; librosa one core {1 / lib:.2f} clips/s; "
          f"ratio {batch / best * lib:.0f}x")


if __name__ == "__main__":
    main()
