"""The teach page's server: ``GET /`` (the page), ``GET /api/state``, ``POST /api/label``,
``/api/undo``, ``/api/skip``, ``/api/save``, and ``GET /api/audio/{id}`` (the most typical
15 s of a library song as WAV, decoded here so any format plays; only songs of the
library, by their number: no path ever comes from the client).

Each label is in the labels file before the answer goes back (``teach.labels``); the
queue is re-ranked on it; the audio of the next songs is prepared in the background.
"""
# no `from __future__ import annotations` here: FastAPI reads the route annotations at run time

import io
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
AUDIO_SR = 22050


class AudioClips:
    """WAV bytes of songs' typical clips, made on demand or ahead, the last 16 kept."""

    def __init__(self, session, classifier, keep: int = 16):
        self.session, self.classifier, self.keep = session, classifier, keep
        self.cache: OrderedDict[int, bytes] = OrderedDict()
        self.lock = threading.Lock()
        self.busy: dict[int, threading.Event] = {}
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="genrekit-audio")

    def get(self, song: int) -> bytes:
        with self.lock:
            if song in self.cache:
                self.cache.move_to_end(song)
                return self.cache[song]
            wait = self.busy.get(song)
            if wait is None:
                wait = self.busy[song] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            wait.wait(60)
            with self.lock:
                if song in self.cache:
                    return self.cache[song]
            return self.get(song)
        try:
            data = self._make(song)
            with self.lock:
                self.cache[song] = data
                while len(self.cache) > self.keep:
                    self.cache.popitem(last=False)
            return data
        finally:
            with self.lock:
                self.busy.pop(song).set()

    def ahead(self, songs) -> None:
        for s in songs:
            self.pool.submit(self._quiet_get, s)

    def _quiet_get(self, song):
        try:
            self.get(song)
        except Exception:  # noqa: BLE001 - a bad file is reported when it is asked for
            pass

    def _make(self, song: int) -> bytes:
        import soundfile as sf

        from ..teach.session import typical_clip

        y, _ = typical_clip(self.classifier, self.session.paths[song], sr=AUDIO_SR)
        buf = io.BytesIO()
        sf.write(buf, y, AUDIO_SR, format="WAV", subtype="PCM_16")
        return buf.getvalue()


def create_teach_app(session, classifier, *, save_model=None, guard=None):
    """The app over a ``TeachSession``; ``save_model()`` -> path writes a model of the
    labels so far (the "save model" action), or None to offer none. ``guard``
    (``serve.guard.Guard``; default: this machine's names only, a fresh token, JSON writes)
    keeps other web sites out; ``app.state.guard.url(base)`` is the page's address."""
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse, Response
    from starlette.concurrency import run_in_threadpool

    from ..errors import GenrekitError
    from .guard import Guard, new_token, protect

    clips = AudioClips(session, classifier)
    app = FastAPI(title="genrekit teach", docs_url=None, redoc_url=None, openapi_url=None)
    protect(app, guard if guard is not None else Guard(token=new_token(),
                                                       json_paths=("/api/",)))

    def error(status: int, message: str):
        return JSONResponse({"error": message}, status_code=status)

    def song_of(value, *, url: bool = False):
        """A song number: a JSON integer (never a bool, a float or a string) of this
        library, or in a URL (``url``) a string of digits alone."""
        if url and isinstance(value, str) and value.isascii() and value.isdigit() \
                and len(value) < 10:
            value = int(value)
        if type(value) is not int:
            return None
        return value if 0 <= value < len(session.paths) else None

    def answer(state):
        clips.ahead([q["id"] for q in state["queue"]])
        return {**state, "save": save_model is not None}

    @app.exception_handler(Exception)
    async def internal(request, exc):  # no stack traces in responses
        return error(500, "internal error")

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):  # unknown paths (../ included): the same JSON
        return error(exc.status_code, "no such song in this library" if exc.status_code == 404
                     else str(exc.detail))

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "teach.html", media_type="text/html")

    @app.get("/api/state")
    async def state():
        return answer(await run_in_threadpool(session.state))

    async def body(request: Request) -> dict:
        try:
            d = await request.json()
        except ValueError:
            return {}
        return d if isinstance(d, dict) else {}

    @app.post("/api/label")
    async def label(request: Request):
        d = await body(request)
        song, genre = song_of(d.get("id")), d.get("genre")
        if song is None:
            return error(404, "no such song in this library")
        if not isinstance(genre, str) or not genre.strip() or len(genre) > 100:
            return error(400, "a genre is a name of 1-100 characters")
        return answer(await run_in_threadpool(session.label, song, genre))

    @app.post("/api/undo")
    async def undo():
        return answer(await run_in_threadpool(session.undo))

    @app.post("/api/skip")
    async def skip(request: Request):
        song = song_of((await body(request)).get("id"))
        if song is None:
            return error(404, "no such song in this library")
        return answer(await run_in_threadpool(session.skip, song))

    @app.post("/api/save")
    async def save():
        if save_model is None:
            return error(400, "this session cannot save a model")
        try:
            path = await run_in_threadpool(save_model)
        except GenrekitError as exc:
            return error(422, str(exc))
        return {"model": str(path)}

    @app.get("/api/audio/{song}")
    async def audio(song: str):
        i = song_of(song, url=True)
        if i is None:
            return error(404, "no such song in this library")
        try:
            data = await run_in_threadpool(clips.get, i)
        except GenrekitError as exc:
            return error(422, f"{Path(session.paths[i]).name}: {exc}")
        return Response(data, media_type="audio/wav", headers={"Cache-Control": "no-store"})

    return app
