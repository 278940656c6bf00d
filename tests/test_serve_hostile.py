"""The server under hostile uploads (issue 17): only the `file` field is read, a stalled
upload is dropped, uploads in flight have a total disk budget."""

from __future__ import annotations

import socket
import time

import pytest

pytest.importorskip("fastapi")

from conftest import LiveServer  # noqa: E402
from test_serve import upload, wav_bytes  # noqa: E402

from genrekit.serve.app import create_app  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def clf(tiny_checkpoint):
    from genrekit.inference.classifier import load_classifier

    return load_classifier(tiny_checkpoint)


def test_only_the_file_field_is_read(clf, tmp_path):
    from fastapi.testclient import TestClient

    with TestClient(create_app(clf), raise_server_exceptions=False) as c:
        data = wav_bytes(tmp_path)
        r = c.post("/v1/predict", files={"other": ("x.wav", data, "audio/wav")})
        assert r.status_code == 400 and "'file' field" in r.json()["error"]
        assert upload(c, "x.wav", data).status_code == 200


def _raw_post(port, body_head: bytes, declared: int):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
              b"boundary=B\r\nContent-Length: " + str(declared).encode() + b"\r\n\r\n" +
              body_head)
    return s


def test_a_stalled_upload_is_dropped_and_its_file_removed(clf):
    app = create_app(clf, read_timeout=1.0)
    head = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n"
            + b"RIFF" + b"\0" * 1000)
    with LiveServer(app) as srv:
        s = _raw_post(srv.port, head, 10_000_000)  # then nothing more
        t = time.time()
        reply = s.recv(4096)
        s.close()
        assert b" 408 " in reply.split(b"\r\n")[0] and time.time() - t < 10
        time.sleep(0.2)
        import os

        assert os.listdir(app.state.tmp["tmp"]) == []  # the partial upload is gone


def test_uploads_in_flight_share_a_disk_budget(clf, tmp_path):
    from fastapi.testclient import TestClient

    data = wav_bytes(tmp_path, seconds=3.0)
    with TestClient(create_app(clf, temp_budget=len(data) // 2),
                    raise_server_exceptions=False) as c:
        r = upload(c, "x.wav", data)
        assert r.status_code == 503 and "busy" in r.json()["error"]
    with TestClient(create_app(clf, temp_budget=2 * len(data)),
                    raise_server_exceptions=False) as c:
        for _ in range(3):  # the budget is given back after each request
            assert upload(c, "x.wav", data).status_code == 200
