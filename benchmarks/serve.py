"""Serving benchmark, all on 127.0.0.1: a bounded load test of `genrekit serve` (200
requests, 8 concurrent, shared GTZAN clips), printing requests/s, p50/p95 latency and the
server's peak RSS; then torch vs onnxruntime per-clip inference in the same run.

Usage: python benchmarks/serve.py [--requests 200] [--concurrency 8] [--model PATH]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _shared import gtzan_clips

TOKEN = "benchmark-token"  # a loopback server needs one (serve.guard)
AUTH = f"Bearer {TOKEN}"


def multipart(path: Path):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_test(port, bodies, n, concurrency):
    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(n))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body, ctype = bodies[i % len(bodies)]
            t = time.perf_counter()
            conn.request("POST", "/v1/predict", body=body, headers={"Content-Type": ctype,
                                                                   "Authorization": AUTH})
            r = conn.getresponse()
            r.read()
            with lock:
                latencies.append(time.perf_counter() - t)
                if r.status != 200:
                    errors.append(r.status)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - t0, sorted(latencies), errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--model", default=None)
    a = ap.parse_args()
    clips = gtzan_clips(10)
    bodies = [multipart(p) for p in clips]
    port = free_port()
    cmd = [sys.executable, "-m", "genrekit.cli", "serve", "--port", str(port),
           "--token", TOKEN]
    if a.model:
        cmd += ["--model", a.model]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        wall, lat, errors = load_test(port, bodies, a.requests, a.concurrency)
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    print(f"load test: {a.requests} requests of 30 s clips, {a.concurrency} concurrent, "
          f"{os.cpu_count()} cores")
    print(f"  {a.requests / wall:.2f} requests/s; latency p50 {pct(0.5):.2f} s, "
          f"p95 {pct(0.95):.2f} s; errors {len(errors)}; server peak RSS {rss:.0f} MB")

    from genrekit import GenreClassifier
    from genrekit.export import export_onnx
    from genrekit.inference.classifier import DEFAULT_MODEL

    ckpt = a.model or DEFAULT_MODEL
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(ckpt, Path(tmp) / "m.onnx")
        t_clf, o_clf = GenreClassifier.load(ckpt), GenreClassifier.load(onnx_path)
        feats = [t_clf.features(p) for p in clips]
        times = {}
        for name, clf in (("torch", t_clf), ("onnxruntime", o_clf)):
            n_slices = len(clf._slice_probs(feats[:1])[0][0])
            t = time.perf_counter()
            for _ in range(3):
                clf._slice_probs(feats)
            times[name] = (time.perf_counter() - t) / (3 * len(feats))
    print(f"model inference per 30 s clip ({n_slices} slices, features excluded): torch "
          f"{1000 * times['torch']:.1f} ms, onnxruntime {1000 * times['onnxruntime']:.1f} ms "
          f"(ratio {times['torch'] / times['onnxruntime']:.2f}x)")


if __name__ == "__main__":
    main()
