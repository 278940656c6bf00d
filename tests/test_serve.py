import http.client
import json
import os

import numpy as np
import pytest
from conftest import LiveServer, toy_genre, write

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from genrekit import GenreClassifier  # noqa: E402
from genrekit.serve.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def clf(tiny_checkpoint):
    return GenreClassifier.load(tiny_checkpoint)


@pytest.fixture
def client(clf):
    app = create_app(clf, max_upload=2 * 1024 * 1024)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.tmp_dir = app.state.tmp["tmp"]
        yield c
    assert not os.path.exists(c.tmp_dir)  # the upload folder goes with the app


def upload(client, name, data):
    return client.post("/v1/predict", files={"file": (name, data, "application/octet-stream")})


def wav_bytes(tmp_path, label="tones", seconds=3.0):
    p = write(tmp_path / "x.wav", toy_genre(label, 3, seconds=seconds))
    return open(p, "rb").read()


def test_health_models_docs(client, clf):
    assert client.get("/healthz").json()["status"] == "ok"
    m = client.get("/v1/models").json()["models"][0]
    assert m["classes"] == clf.classes_ and m["features"]["n_mels"] == 32
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text  # the docs page loads nothing from elsewhere
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "genrekit" in page.text
    import re  # nothing is loaded from elsewhere (no CDN): no external src/href/url()/fetch
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//|url\(\s*['\"]?https?:|"
                         r"fetch\(\s*['\"]https?:", page.text)


def test_predict_ok_and_matches_library(client, clf, tmp_path):
    r = upload(client, "song.wav", wav_bytes(tmp_path))
    assert r.status_code == 200, r.text
    body = r.json()
    ref = clf.predict(tmp_path / "x.wav")
    assert body["label"] == ref.label and body["file"] == "song.wav"
    assert abs(body["scores"][ref.label] - ref.score) < 1e-5
    assert body["timeline"] and {"start", "end", "label", "scores"} <= set(body["timeline"][0])
    assert os.listdir(client.tmp_dir) == []


def test_status_codes(client, tmp_path):
    r = upload(client, "notes.wav", b"this is a text file, not audio\n" * 10)
    assert r.status_code == 415 and "not an audio file" in r.json()["error"]
    assert "\n" not in r.json()["error"]
    corrupt = b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(400)
    r = upload(client, "bad.wav", corrupt)
    assert r.status_code == 422 and r.json()["error"].startswith("bad.wav: ")
    silent = write(tmp_path / "s.wav", np.zeros(22050 * 2, np.float32))
    r = upload(client, "s.wav", open(silent, "rb").read())
    assert r.status_code == 422 and "silent" in r.json()["error"]
    r = upload(client, "big.wav", b"RIFF" + b"\x00" * (3 * 1024 * 1024))
    assert r.status_code == 413 and "too large" in r.json()["error"]
    r = client.post("/v1/predict", content=b"raw", headers={"content-type": "audio/wav"})
    assert r.status_code == 400 and "multipart" in r.json()["error"]
    r = client.post("/v1/predict", data={"note": "no file"})
    assert r.status_code in (400, 422)
    assert os.listdir(client.tmp_dir) == []


def test_file_name_is_never_a_path(client, tmp_path):
    r = upload(client, "../../etc/passwd.wav", wav_bytes(tmp_path))
    assert r.status_code == 200 and r.json()["file"] == "passwd.wav"
    assert os.listdir(client.tmp_dir) == []


def test_internal_errors_have_no_stack_trace(clf, tmp_path, monkeypatch):
    app = create_app(clf)
    monkeypatch.setattr(clf, "predict", lambda *a, **k: 1 / 0)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = upload(c, "x.wav", wav_bytes(tmp_path))
        assert r.status_code == 500 and r.json() == {"error": "internal error"}
        assert os.listdir(app.state.tmp["tmp"]) == []


def test_oversized_stream_is_cut_without_buffering(clf):
    """A 40 MB chunked upload against a 1 MB limit: 413, and this process (server and
    client both) never holds more than a few MB."""
    import tracemalloc

    app = create_app(clf, max_upload=1024 * 1024)
    boundary = "xyzBOUNDARY"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"huge.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF").encode()
    chunk = b"\x00" * (256 * 1024)
    with LiveServer(app) as srv:
        tracemalloc.start()
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.putrequest("POST", "/v1/predict")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        sent = 0
        try:
            for piece in [head] + [chunk] * 160:
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close early, after answering 413
        resp = conn.getresponse()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert resp.status == 413 and "too large" in json.loads(resp.read())["error"]
        assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while receiving"
        assert os.listdir(app.state.tmp["tmp"]) == []
