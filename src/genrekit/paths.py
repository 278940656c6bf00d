"""Where genrekit keeps its state: the platform's user folders, never the folder the user
happens to stand in (beets keeps its library in its config folder, Hugging Face its cache
under ``~/.cache/huggingface``).

- data (the prediction store ``library.sqlite``, teach's labels and saved model):
  ``~/.local/share/genrekit`` on Linux, ``~/Library/Application Support/genrekit`` on
  macOS, ``%LOCALAPPDATA%\\genrekit`` on Windows;
- cache (features and song embeddings, safe to delete): ``~/.cache/genrekit`` on Linux,
  ``~/Library/Caches/genrekit`` on macOS, ``%LOCALAPPDATA%\\genrekit\\Cache`` on Windows.

``GENREKIT_HOME=DIR`` puts both under one folder (``DIR/data``, ``DIR/cache``); ``--db`` and
``--cache-dir`` still take any path (an existing ``./cache`` keeps working when named).
Nothing is created here: a folder appears when something is first written to it.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_VAR = "GENREKIT_HOME"


def _home() -> Path | None:
    home = os.environ.get(HOME_VAR, "").strip()
    return Path(home).expanduser() if home else None


def data_dir() -> Path:
    """The user data folder (the prediction store, teach sessions)."""
    if (home := _home()) is not None:
        return home / "data"
    import platformdirs

    return Path(platformdirs.user_data_dir("genrekit", appauthor=False))


def cache_dir() -> Path:
    """The user cache folder (features, embeddings)."""
    if (home := _home()) is not None:
        return home / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("genrekit", appauthor=False))


def default_db() -> str:
    return str(data_dir() / "library.sqlite")


def default_cache() -> str:
    return str(cache_dir())


def default_labels() -> str:
    return str(data_dir() / "teach" / "labels.csv")


def folder_size(path: Path) -> tuple[int, int]:
    """``(files, bytes)`` under ``path`` (0, 0 when it does not exist)."""
    files = size = 0
    for d, _, names in os.walk(path):
        for n in names:
            try:
                size += os.lstat(os.path.join(d, n)).st_size
                files += 1
            except OSError:
                pass
    return files, size
