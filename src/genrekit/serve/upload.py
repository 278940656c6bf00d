"""Stream one multipart file upload to a temporary file, enforcing a size limit as it comes.

Nothing is held in memory beyond one network chunk; the client's file name is only used
for its (sanitised) extension, never as a path.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path


class UploadError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message
        super().__init__(message)


@dataclass
class Upload:
    path: Path
    filename: str
    size: int
    budgeted: int = 0  # bytes taken from the server's TempBudget, to give back


class TempBudget:
    """Bytes of uploads held in temporary files across all requests at once: a few stalled
    or slow clients cannot fill the disk (one event loop: no lock needed)."""

    def __init__(self, total: int):
        self.total, self.used = int(total), 0

    def take(self, n: int) -> bool:
        if self.used + n > self.total:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used = max(0, self.used - n)


async def receive_upload(request, *, limit: int, tmp_dir, read_timeout: float = 30.0,
                         budget: TempBudget | None = None) -> Upload:
    """Parse ``multipart/form-data`` from ``request.stream()``; the part named ``file`` (with
    a file name) is written to a temp file in ``tmp_dir``; other parts are ignored. Raises
    UploadError: 400 malformed or no ``file`` part, 408 no data for ``read_timeout``
    seconds, 413 over ``limit``, 503 over the server's total ``budget`` of upload bytes in
    flight. The caller gives ``Upload.budgeted`` back to the budget when done with the file."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise UploadError(413, f"upload too large: {int(declared)} bytes declared, "
                               f"limit {limit} bytes")
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "expected a multipart/form-data upload with a 'file' field")

    st = {"field": b"", "value": b"", "headers": {}, "fh": None, "writing": False,
          "size": 0, "filename": None, "path": None, "done": False, "taken": 0,
          "over_budget": False}

    def on_header_field(data, start, end):
        st["field"] += data[start:end]

    def on_header_value(data, start, end):
        st["value"] += data[start:end]

    def on_header_end():
        st["headers"][st["field"].decode("latin-1").lower()] = st["value"]
        st["field"], st["value"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(st["headers"].get("content-disposition", b""))
        name = disp.get(b"filename")
        if (name is not None and disp.get(b"name") == b"file" and not st["done"]
                and st["fh"] is None):
            fname = name.decode("utf-8", "replace")
            ext = Path(fname).suffix.lower()
            ext = ext if re.fullmatch(r"\.[a-z0-9]{1,5}", ext) else ""
            fd, path = tempfile.mkstemp(dir=tmp_dir, prefix="up-", suffix=ext)
            st["fh"], st["path"], st["filename"] = os.fdopen(fd, "wb"), Path(path), fname
            st["writing"] = True
        st["headers"] = {}

    def on_part_data(data, start, end):
        if st["writing"]:
            st["size"] += end - start
            if budget is not None and st["size"] <= limit:
                if not budget.take(end - start):
                    st["over_budget"] = True
                    return
                st["taken"] += end - start
            if st["size"] <= limit:
                st["fh"].write(data[start:end])

    def on_part_end():
        if st["writing"]:
            st["writing"], st["done"] = False, True

    parser = MultipartParser(params[b"boundary"], {
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    stream = request.stream().__aiter__()
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), read_timeout)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise UploadError(408, f"upload stalled: no data for {read_timeout:g} s") \
                    from None
            parser.write(chunk)
            if st["size"] > limit:
                raise UploadError(413, f"upload too large: over the limit of {limit} bytes")
            if st["over_budget"]:
                raise UploadError(503, "server busy: too much upload data in flight, retry "
                                       "later")
        parser.finalize()
    except UploadError:
        _discard(st, budget)
        raise
    except Exception:
        _discard(st, budget)
        raise UploadError(400, "malformed multipart upload") from None
    if st["fh"] is None:
        raise UploadError(400, "no file in the upload (send it as the 'file' field)")
    st["fh"].close()
    if st["size"] == 0:
        _discard(st, budget)
        raise UploadError(400, "the uploaded file is empty")
    return Upload(st["path"], st["filename"], st["size"], st["taken"])


def _discard(st, budget=None):
    if st["fh"] is not None:
        st["fh"].close()
        st["path"].unlink(missing_ok=True)
    if budget is not None:
        budget.give(st["taken"])
        st["taken"] = 0
