"""What keeps a local server to its own page: other web sites open in the user's browser
must neither read it nor write through it.

- **Host allow-list** (DNS rebinding: a site whose name now resolves to 127.0.0.1 is, to
  the browser, that site, so its script may read the answers): the ``Host`` header must
  name this machine (``localhost``, ``127.0.0.1``, ``[::1]``), the bind address, or a name
  given with ``hosts``; else 403.
- **Origin check** on every state-changing request (POST, PUT, PATCH, DELETE): a browser
  names the page that sent it in ``Origin`` (and ``Sec-Fetch-Site``); one from another
  origin, or ``Origin: null``, is refused (403). Requests without either header come from
  programs (curl, scripts), not from web pages, and pass.
- **JSON content type** on JSON bodies (``json_paths``): ``text/plain`` is a CORS "simple
  request" that any page may send without asking; a JSON API requires
  ``application/json`` (415), which no page can send cross-origin without a preflight.
- **A per-session token** (``token``), printed in the page's URL at start as Jupyter does:
  ``/?token=...`` sets a cookie for this server (HttpOnly, SameSite=Strict) and redirects to
  ``/``; every other request needs the cookie, an ``Authorization: Bearer`` header, an
  ``X-Genrekit-Token`` header or ``?token=`` (401). ``open_paths`` (``/healthz``) need
  none.

The app is wrapped once (:func:`protect`); each refusal is a one-line JSON error.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from hashlib import sha256
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_loopback(host: str) -> bool:
    h = host.strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Guard:
    """``hosts``: the Host names answered (None: any, for a server bound to a public
    address); ``token``: required on every request but ``open_paths`` (None: no token);
    ``json_paths``: path prefixes whose writes must be ``application/json``."""

    hosts: frozenset[str] | None = LOOPBACK_NAMES
    token: str | None = None
    json_paths: tuple[str, ...] = ()
    open_paths: tuple[str, ...] = ("/healthz",)
    cookie: str = field(init=False)

    def __post_init__(self):
        digest = sha256((self.token or "").encode()).hexdigest()[:10]
        object.__setattr__(self, "cookie", f"genrekit-{digest}")  # per server: ports share

    @classmethod
    def for_bind(cls, bind: str, *, token: str | None = None, extra_hosts=(),
                 json_paths: tuple[str, ...] = ()) -> Guard:
        """The guard of a server listening on ``bind``: a loopback bind answers only this
        machine's names (and ``extra_hosts``); any other bind (``0.0.0.0``, a LAN or public
        address, which clients reach by names we cannot know) any Host, unless
        ``extra_hosts`` lists the names to answer."""
        names = {h.strip("[]").lower() for h in extra_hosts if h}
        if is_loopback(bind) or names:
            hosts = frozenset(LOOPBACK_NAMES | {bind.strip("[]").lower()} | names)
        else:
            hosts = None
        return cls(hosts=hosts, token=token, json_paths=json_paths)

    def url(self, host: str, port: int) -> str:
        """The page's address to print for a server on ``host:port`` (with the token, when
        there is one)."""
        if ":" in host and not host.startswith("["):  # an IPv6 address
            host = f"[{host}]"
        return f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")

    # --- the checks, each None (pass) or (status, message) -------------------------------
    def check(self, method: str, path: str, query: str, headers: dict[str, str]):
        host = headers.get("host", "")
        name = _hostname(host)
        if self.hosts is not None and name not in self.hosts:
            return 403, f"unknown Host {host[:80]!r}: this server answers only {_names(self)}"
        if method in WRITES:
            origin = headers.get("origin")
            site = headers.get("sec-fetch-site")
            if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower()
                                       != host.lower()):
                return 403, "cross-origin request refused"
            if site is not None and site not in ("same-origin", "none"):
                return 403, "cross-site request refused"
            if path.startswith(self.json_paths):
                ctype = headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype != "application/json":
                    return 415, "send JSON with Content-Type: application/json"
        if self.token is not None and not path.startswith(self.open_paths):
            if not self._has_token(query, headers):
                return 401, ("this server needs its token: open the URL genrekit printed "
                             "(…/?token=…), or send 'Authorization: Bearer TOKEN'")
        return None

    def _has_token(self, query: str, headers: dict[str, str]) -> bool:
        given = list(parse_qs(query).get("token", []))
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given.append(auth[7:].strip())
        if "x-genrekit-token" in headers:
            given.append(headers["x-genrekit-token"])
        for part in headers.get("cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == self.cookie:
                given.append(v)
        return any(hmac.compare_digest(g.encode(), self.token.encode()) for g in given)


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _names(g: Guard) -> str:
    return ", ".join(sorted(g.hosts or ())) or "its own names"


class GuardMiddleware:
    """ASGI middleware: ``app.add_middleware(GuardMiddleware, guard=guard)``."""

    def __init__(self, app, guard: Guard):
        self.app, self.guard = app, guard

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope.get("path", "/")
        refused = self.guard.check(scope["method"], path, query, headers)
        if refused is not None:
            return await _json(send, *refused)
        if self.guard.token and path == "/" and "token" in parse_qs(query):
            return await _redirect_with_cookie(send, self.guard)
        return await self.app(scope, receive, send)


def protect(app, guard: Guard | None):
    """Put ``guard`` in front of the FastAPI ``app`` (kept as ``app.state.guard``)."""
    app.state.guard = guard
    if guard is not None:
        app.add_middleware(GuardMiddleware, guard=guard)
    return app


async def _json(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send, guard: Guard) -> None:
    cookie = f"{guard.cookie}={guard.token}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode()),
                            (b"cache-control", b"no-store"), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
