"""Atomic file writes: a temporary file in the target's folder, fsync, then ``os.replace``,
so a reader (or a resumed job after a kill) never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path, mode: str = "wb", **open_kwargs):
    """``with atomic_write(p, "w") as f: ...`` writes ``p`` all at once or not at all."""
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path, text: str) -> Path:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def not_a_regular_file(path, what: str = "a file") -> str | None:
    """Why ``path`` cannot be read as a regular file, or None when it can; nothing is opened
    (a FIFO or socket would block a reader forever). Reasons: not found (a dangling link
    too), a link loop or no permission, a folder, a FIFO, a socket, a device."""
    import stat

    try:
        st = os.stat(path)  # follows links; a dangling link or a loop raises
    except FileNotFoundError:
        return ("broken symbolic link (its target does not exist)" if os.path.islink(path)
                else "file not found")
    except OSError as exc:  # ELOOP, EACCES, ENAMETOOLONG ...
        return f"cannot read: {exc.strerror or exc}"
    if stat.S_ISDIR(st.st_mode):
        return f"is a directory, not {what}"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file: " + ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
                                         else "a socket" if stat.S_ISSOCK(st.st_mode)
                                         else "a device file")
    return None


def unwritable(path, *, folder: bool) -> str | None:
    """Why ``path`` (a folder to create or use, or a file to write) cannot be written, or
    None. Checked by writing and removing a probe file where the first write would go (the
    folder itself, or its nearest existing ancestor), so read-only and virtual file systems
    and missing permissions all show, whoever runs it; nothing is created."""
    import tempfile

    p = Path(path)
    if p.exists() or p.is_symlink():
        if folder and not p.is_dir():
            return "exists and is not a folder"
        if not folder and p.is_dir():
            return "is a folder, not a file"
    at = p if (folder and p.is_dir()) else p.parent
    while not at.exists():
        if at.is_symlink():
            return f"{at} is a broken link"
        at = at.parent
    if not at.is_dir():
        return f"{at} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(dir=at, prefix=".genrekit-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write in {at} ({exc.strerror or exc})"
    return None
