"""`genrekit serve` on loopback answers only its own page: Host allow-list, Origin check on
uploads, the token; on a public bind API clients keep working (issue 32)."""

import pytest

pytest.importorskip("fastapi")

from conftest import toy_genre, write  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from genrekit.serve.app import create_app  # noqa: E402
from genrekit.serve.guard import Guard  # noqa: E402

LOCAL = "http://127.0.0.1:8000"


@pytest.fixture()
def client(tiny_checkpoint):
    from genrekit import GenreClassifier

    app = create_app(GenreClassifier.load(tiny_checkpoint), guard=Guard(token="t0k"))
    with TestClient(app, base_url=LOCAL, raise_server_exceptions=False) as c:
        yield c


def upload(c, clip, **headers):
    with open(clip, "rb") as f:
        return c.post("/v1/predict", files={"file": ("clip.wav", f, "audio/wav")},
                      headers=headers)


def test_forged_host_cross_origin_and_missing_token_are_refused(client, tmp_path):
    clip = write(tmp_path / "clip.wav", toy_genre("tones", 1, seconds=3.0))
    ok = {"Authorization": "Bearer t0k"}
    assert upload(client, clip, **ok).status_code == 200
    r = upload(client, clip, **ok, Host="evil.example")
    assert r.status_code == 403 and "unknown Host" in r.json()["error"]
    assert client.get("/v1/models", headers={**ok, "Host": "evil.example"}).status_code == 403
    r = upload(client, clip, **ok, Origin="http://evil.example")  # multipart: a simple request
    assert r.status_code == 403 and "cross-origin" in r.json()["error"]
    assert upload(client, clip, **ok, Origin=LOCAL).status_code == 200
    r = upload(client, clip)
    assert r.status_code == 401 and "token" in r.json()["error"]
    assert client.get("/v1/models").status_code == 401
    assert client.get("/healthz").status_code == 200  # health checks need no token


def test_the_printed_url_sets_a_cookie_the_page_then_uses(client):
    r = client.get("/?token=t0k", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "HttpOnly" in r.headers["set-cookie"] and "SameSite=Strict" in r.headers["set-cookie"]
    assert client.get("/v1/models").status_code == 200  # the cookie, as the page sends it
    client.cookies.clear()
    assert client.get("/?token=wrong", follow_redirects=False).status_code == 401
    assert client.get("/v1/models").status_code == 401


def test_bind_rules():
    local = Guard.for_bind("127.0.0.1", token="x")
    assert local.hosts >= {"localhost", "127.0.0.1", "::1"} and "evil.example" not in local.hosts
    assert Guard.for_bind("::1").hosts >= {"::1"}
    public = Guard.for_bind("0.0.0.0")
    assert public.hosts is None  # clients reach a public bind by names we cannot know
    assert public.check("POST", "/v1/predict", "", {"host": "box.lan:8000"}) is None
    assert public.check("POST", "/v1/predict", "", {"host": "box.lan:8000",
                                                    "origin": "http://evil.example"})[0] == 403
    named = Guard.for_bind("0.0.0.0", extra_hosts=["box.lan"])
    assert named.check("GET", "/v1/models", "", {"host": "box.lan:8000"}) is None
    assert named.check("GET", "/v1/models", "", {"host": "evil.example"})[0] == 403
    assert local.check("GET", "/", "", {"host": "[::1]:8000"})[0] == 401  # host ok, no token


def test_cli_prints_the_token_url_and_public_binds_need_none(capsys, monkeypatch, tiny_checkpoint):
    import uvicorn

    from genrekit.cli import main

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["serve", "--model", str(tiny_checkpoint), "--port", "8123"]) == 0
    out = capsys.readouterr().out
    guard = seen["app"].state.guard
    assert guard.token and f"http://127.0.0.1:8123/?token={guard.token}" in out
    assert main(["serve", "--model", str(tiny_checkpoint), "--host", "0.0.0.0"]) == 0
    assert seen["app"].state.guard.token is None and seen["app"].state.guard.hosts is None
    assert main(["serve", "--model", str(tiny_checkpoint), "--token", "mine"]) == 0
    assert seen["app"].state.guard.token == "mine"
