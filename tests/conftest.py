"""Synthetic audio for tests: tones, chirps, noise bursts and clicks, written in many formats."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

# State goes to the user folders (genrekit.paths): the tests' own, never the user's home
# nor the checkout (subprocesses inherit it).
os.environ["GENREKIT_HOME"] = tempfile.mkdtemp(prefix="genrekit-test-home-")

SR = 22050


def tone(freq=440.0, seconds=2.0, sr=SR, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chirp(f0=100.0, f1=4000.0, seconds=2.0, sr=SR, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    k = (f1 - f0) / seconds
    return (amp * np.sin(2 * np.pi * (f0 * t + 0.5 * k * t ** 2))).astype(np.float32)


def noise(seconds=2.0, sr=SR, amp=0.3, seed=0):
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(
        np.float32)


def clicks(seconds=2.0, sr=SR, every=0.25, amp=0.9):
    y = np.zeros(int(seconds * sr), np.float32)
    y[:: int(every * sr)] = amp
    return y


def write(path, y, sr=SR):
    """Write ``y`` ([n] or [n, ch]) to ``path``; the format follows the extension."""
    import soundfile as sf

    path = str(path)
    if path.endswith((".m4a", ".opus", ".webm")):
        _write_av(path, y, sr)
    else:
        sf.write(path, y, sr)
    return path


def _write_av(path, y, sr):
    import av

    y = np.atleast_2d(np.asarray(y, np.float32).T if np.ndim(y) == 2 else y[None])
    codec = {"m4a": "aac", "opus": "libopus", "webm": "libopus"}[path.rsplit(".", 1)[1]]
    rate = 48000 if codec == "libopus" else sr
    if rate != sr:
        import soxr

        y = soxr.resample(y.T, sr, rate).T.astype(np.float32)
    with av.open(path, "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.layout = "mono" if y.shape[0] == 1 else "stereo"
        frame_len = 1024
        for i in range(0, y.shape[1], frame_len):
            chunk = np.ascontiguousarray(y[:, i:i + frame_len])
            fr = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=s.layout.name)
            fr.sample_rate = rate
            fr.pts = i
            for pkt in s.encode(fr):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)


@pytest.fixture
def sr():
    return SR


def toy_genre(label: str, i: int, seconds: float = 4.0) -> np.ndarray:
    """Three toy "genres": steady tones, noise bursts, rising chirps (varied per song)."""
    rng = np.random.default_rng(1000 + i)
    if label == "tones":
        y = sum(tone(f, seconds, amp=0.2) for f in rng.uniform(200, 900, 2))
    elif label == "noise":
        env = np.repeat(rng.uniform(0.05, 0.4, int(seconds * 8)), SR // 8)
        y = noise(seconds, amp=1.0, seed=i)[: len(env)] * env
    else:
        y = chirp(rng.uniform(100, 300), rng.uniform(3000, 6000), seconds, amp=0.4)
    return (y + noise(seconds, amp=0.01, seed=i)[: len(y)]).astype(np.float32)


def split_catalog_folder(root, labels, make_audio, *, n_train: int, n_valid: int):
    """A folder per label with splits/train.txt and valid.txt; ``make_audio(label, i)``."""
    (root / "splits").mkdir()
    train, valid = [], []
    for label in labels:
        (root / label).mkdir()
        for i in range(n_train + n_valid):
            rel = f"{label}/{label}.{i:03d}.wav"
            write(root / rel, make_audio(label, i))
            (train if i < n_train else valid).append(rel)
    (root / "splits" / "train.txt").write_text("\n".join(train) + "\n")
    (root / "splits" / "valid.txt").write_text("\n".join(valid) + "\n")
    return root


@pytest.fixture(scope="session")
def toy_catalog(tmp_path_factory):
    """Folder per genre with splits/train.txt and valid.txt: 8 train + 4 valid songs each."""
    return split_catalog_folder(tmp_path_factory.mktemp("toy"), ("tones", "noise", "chirps"),
                                lambda label, i: toy_genre(label, i + 100 * len(label)),
                                n_train=8, n_valid=4)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """An untrained but complete `tiny` checkpoint over the toy classes (fast, deterministic)."""
    import torch

    from genrekit.checkpoint import save_checkpoint
    from genrekit.config import load_config
    from genrekit.models import create_model
    from genrekit.training.trainer import make_checkpoint

    cfg = load_config(None, ["features.names=[mel]", "features.n_mels=32", "model.name=tiny",
                             "slices.slice_seconds=1.0", "slices.slice_hop_seconds=0.5"])
    torch.manual_seed(0)
    classes = ["chirps", "noise", "tones"]
    model = create_model("tiny", len(classes), 1).eval()
    ck = make_checkpoint(model, cfg, classes, np.array([-40.0], np.float32),
                         np.array([20.0], np.float32), {"valid": {}})
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, ck)
    return path


class LiveServer:
    """A real uvicorn server for an app, in a thread, on a free 127.0.0.1 port."""

    def __init__(self, app):
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        import time

        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started and time.time() < deadline:
            time.sleep(0.02)
        assert self.server.started, "server did not start"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
