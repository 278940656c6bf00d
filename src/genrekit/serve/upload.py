"""Stream one multipart file upload to a temporary file, enforcing a size limit as it comes.

Nothing is held in memory beyond one network chunk; the client's file name is only used
for its (sanitised) extension, never as a path.
"""

from __future__ import annotations

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


async def receive_upload(request, *, limit: int, tmp_dir) -> Upload:
    """Parse ``multipart/form-data`` from ``request.stream()``; the first part with a file
    name is written to a temp file in ``tmp_dir``. Raises UploadError (400/413)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise UploadError(413, f"upload too large: {int(declared)} bytes declared, "
                               f"limit {limit} bytes")
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UploadError(400, "expected a multipart/form-data upload with a 'file' field")

    st = {"field": b"", "value": b"", "headers": {}, "fh": None, "writing": False,
          "size": 0, "filename": None, "path": None, "done": False}

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
        if name is not None and not st["done"] and st["fh"] is None:
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
            if st["size"] <= limit:
                st["fh"].write(data[start:end])

    def on_part_end():
        if st["writing"]:
            st["writing"], st["done"] = False, True

    parser = MultipartParser(params[b"boundary"], {
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if st["size"] > limit:
                raise UploadError(413, f"upload too large: over the limit of {limit} bytes")
        parser.finalize()
    except UploadError:
        _discard(st)
        raise
    except Exception:
        _discard(st)
        raise UploadError(400, "malformed multipart upload") from None
    if st["fh"] is None:
        raise UploadError(400, "no file in the upload (send it as the 'file' field)")
    st["fh"].close()
    if st["size"] == 0:
        st["path"].unlink(missing_ok=True)
        raise UploadError(400, "the uploaded file is empty")
    return Upload(st["path"], st["filename"], st["size"])


def _discard(st):
    if st["fh"] is not None:
        st["fh"].close()
        st["path"].unlink(missing_ok=True)
