"""FastAPI app: ``POST /v1/predict``, ``GET /v1/models``, ``GET /healthz``, the page at ``/``.

The model loads once (``create_app(classifier)``); decoding, features and the model run in
worker threads, at most ``max_concurrency`` at a time, off the event loop. Uploads stream to
temporary files (removed after every request) under a size limit. Errors are one-line JSON
``{"error": ...}``, never stack traces.
"""
# no `from __future__ import annotations` here: FastAPI reads the route annotations at run time

import asyncio
import shutil
import tempfile
from pathlib import Path

from ..errors import AudioLoadError, GenrekitError
from .sniff import sniff_audio
from .upload import UploadError, receive_upload

STATIC = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024


def create_app(classifier, *, max_upload: int = DEFAULT_MAX_UPLOAD, max_concurrency: int = 2,
               top_k: int = 5, read_timeout: float = 30.0, temp_budget: int | None = None,
               guard=None):
    """The app. ``read_timeout``: seconds an upload may send nothing before it is dropped
    (408); ``temp_budget``: bytes of uploads held on disk at once over all requests
    (default: ``max_upload`` times (``max_concurrency`` + 2)); beyond it, 503. ``guard``
    (``serve.guard.Guard``; ``genrekit serve`` always gives one): the Host names answered,
    the Origin check on uploads, the token; None answers anyone (an app mounted behind
    your own front end)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse
    from starlette.concurrency import run_in_threadpool

    from .upload import TempBudget

    state = {"tmp": None, "sem": None}
    budget = TempBudget(temp_budget if temp_budget is not None
                        else max_upload * (max_concurrency + 2))

    @asynccontextmanager
    async def lifespan(app):
        state["tmp"] = tempfile.mkdtemp(prefix="genrekit-serve-")
        state["sem"] = asyncio.Semaphore(max_concurrency)
        try:
            yield
        finally:
            shutil.rmtree(state["tmp"], ignore_errors=True)

    app = FastAPI(title="genrekit", version=_version(), lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Music genre classification. POST an audio file to /v1/predict.")
    _mount_docs(app)
    from .guard import protect

    protect(app, guard)
    app.state.classifier = classifier
    app.state.tmp = state

    def error(status: int, message: str):
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(Exception)
    async def internal(request, exc):  # no stack traces in responses
        return error(500, "internal error")

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "model": Path(classifier.source).name}

    @app.get("/v1/models")
    async def models():
        return {"models": [{"name": Path(classifier.source).name,
                            "architecture": classifier.model_name,
                            "classes": classifier.classes_,
                            "features": classifier.spec.to_dict(),
                            "slices": classifier.slices, "aggregate": classifier.rule,
                            "novelty_threshold": classifier.novelty_threshold,
                            "min_confidence": classifier.min_confidence,
                            "set_level": classifier.set_level,
                            "metrics": classifier.metrics}]}

    upload_body = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "the audio file"}}}}}}

    @app.post("/v1/predict", openapi_extra={"requestBody": upload_body},
              responses={400: {"description": "malformed upload, no `file` field, empty"},
                         408: {"description": "the upload stalled"},
                         413: {"description": "over the size limit"},
                         415: {"description": "not audio"},
                         422: {"description": "audio that cannot be decoded or used"},
                         503: {"description": "busy: too much upload data in flight"}})
    async def predict(request: Request):
        """Multipart upload of one audio file (field ``file``) -> label (a genre, or
        ``unknown`` when the song is not like the model's genres: ``closest`` then names the
        nearest one), score, novelty, scores, top_k, timeline (and ``set`` when the server
        was started with ``--set``). 413: over the size limit; 415: not audio; 422: audio
        that cannot be decoded or used."""
        if state["tmp"] is None:  # app used without its lifespan (should not happen)
            return error(503, "server is starting")
        try:
            up = await receive_upload(request, limit=max_upload, tmp_dir=state["tmp"],
                                      read_timeout=read_timeout, budget=budget)
        except UploadError as exc:
            return error(exc.status, exc.message)
        try:
            with open(up.path, "rb") as f:
                kind = sniff_audio(f.read(16))
            if kind is None:
                return error(415, f"{_safe(up.filename)}: not an audio file "
                                  "(unrecognised content)")
            async with state["sem"]:
                pred = await run_in_threadpool(classifier.predict, up.path, top_k=top_k)
        except AudioLoadError as exc:
            return error(422, f"{_safe(up.filename)}: {exc.reason}")
        except GenrekitError as exc:
            return error(422, f"{_safe(up.filename)}: {exc}")
        finally:
            up.path.unlink(missing_ok=True)
            budget.give(up.budgeted)
        d = pred.to_dict()
        d["file"] = _safe(up.filename)
        return d

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app


def _mount_docs(app) -> None:
    """Swagger UI at /docs, its assets served by the app itself, so the docs work without
    the internet: Swagger UI 5 from the fastapi-offline package (FastAPI's schema is
    OpenAPI 3.1, which Swagger UI 4 cannot render); without it, FastAPI's CDN page."""
    from fastapi.openapi.docs import get_swagger_ui_html

    assets = {}
    try:
        from importlib import resources

        from fastapi.staticfiles import StaticFiles

        static = resources.files("fastapi_offline") / "static"
        if (static / "swagger-ui-bundle.js").is_file():
            app.mount("/docs-static", StaticFiles(directory=str(static)), name="docs-static")
            assets = {"swagger_js_url": "/docs-static/swagger-ui-bundle.js",
                      "swagger_css_url": "/docs-static/swagger-ui.css",
                      "swagger_favicon_url": "/docs-static/favicon.png"}
    except ImportError:
        pass

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="genrekit API", **assets)


def _safe(name: str | None) -> str:
    """The client's file name for messages only: base name, printable, bounded."""
    base = Path(name or "upload").name
    return "".join(c for c in base if c.isprintable())[:120] or "upload"


def _version():
    from .. import __version__

    return __version__
