"""Decoders that write to the process's standard error themselves (libmpg123 inside
libsndfile: "Note: Illegal Audio-MPEG-Header ...", "[src/libmpg123/layer3.c:...] error:
...", "Warning: Xing stream size off ..."): C code, below Python's ``sys.stderr``, so
neither ``warnings`` nor ``contextlib.redirect_stderr`` reaches it.

:func:`filter_decoder_noise` (the CLI calls it once) keeps Python's ``sys.stderr`` on the
terminal (so progress bars still see a terminal) and routes file descriptor 2, which only
C code and worker processes write to, through a pipe whose reader forwards every line but
the decoders' own. What a damaged file means for the analysis is said by genrekit itself
(``errors.DecodeWarning``), once, naming the file.
"""

from __future__ import annotations

import os
import re
import sys
import threading

NOISE = re.compile(rb"^(Note: (Illegal Audio-MPEG-Header|Trying to resync|Skipped \d+ bytes|"
                   rb"Hit end of|Giving up)|Warning: (Xing stream size|Encountered more data)|"
                   rb"\[src/libmpg123/|\[[^\]]*mpg123[^\]]*\])")

_state: dict = {}


def filter_decoder_noise() -> None:
    """Install the filter (once per process; a no-op where fd 2 cannot be re-routed)."""
    if _state or os.name != "posix":
        return
    try:
        sys.stderr.flush()
        terminal = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
    except OSError:
        return
    sys.stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding=sys.stderr.encoding,
                           errors="backslashreplace")
    thread = threading.Thread(target=_forward, args=(read, terminal), daemon=True,
                              name="genrekit-stderr-filter")
    thread.start()
    _state.update(terminal=terminal, thread=thread)
    import atexit

    atexit.register(_drain)


def _forward(read: int, terminal: int) -> None:
    buf = b""
    while chunk := os.read(read, 65536):
        buf += chunk
        *lines, buf = buf.split(b"\n")
        out = b"".join(ln + b"\n" for ln in lines if not NOISE.match(ln))
        if out:
            os.write(terminal, out)
    if buf and not NOISE.match(buf):
        os.write(terminal, buf)
    os.close(read)


def _drain() -> None:
    """At exit: fd 2 back on the terminal (the pipe's last writer here closes), the
    forwarder finishes what it holds."""
    try:
        sys.stderr.flush()
        os.dup2(_state["terminal"], 2)
    except (OSError, ValueError):
        return
    _state["thread"].join(2.0)
