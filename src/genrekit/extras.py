"""Which optional dependency comes with which extra (pyproject's optional-dependencies).

The base install is the prediction runtime (numpy, soundfile, soxr, PyAV, onnxruntime,
mutagen, rich, pyyaml, threadpoolctl). :func:`require` checks an extra before work starts;
:func:`missing_extra` turns an ``ImportError`` of an optional module into the one-line
:class:`~genrekit.errors.MissingExtraError` that ``cli.main`` prints (exit 2).
"""

from __future__ import annotations

import importlib.util

from .errors import MissingExtraError

#: top-level module -> the extra that installs it
EXTRA_OF = {
    "torch": "train", "numba": "train", "llvmlite": "train", "scipy": "train",
    "librosa": "train", "matplotlib": "plots", "fastapi": "serve", "uvicorn": "serve",
    "multipart": "serve", "python_multipart": "serve", "fastapi_offline": "serve",
    "onnx": "export", "ray": "ray", "pyarrow": "ray", "beets": "beets", "beetsplug": "beets",
}
#: what each extra must make importable (checked by :func:`require`)
MODULES = {"train": ("torch", "numba", "scipy", "librosa", "matplotlib"), "plots": ("matplotlib",),
           "serve": ("fastapi", "uvicorn", "fastapi_offline"), "export": ("torch", "onnx"),
           "ray": ("ray",), "beets": ("beets",)}


def has(module: str) -> bool:
    """Whether ``module`` is installed (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(*extras: str) -> None:
    """Raise :class:`MissingExtraError` for the first extra whose modules are missing."""
    for extra in extras:
        for module in MODULES[extra]:
            if not has(module):
                raise MissingExtraError(extra, module)


def missing_extra(exc: ImportError) -> MissingExtraError | None:
    """The extra to install for an ``ImportError`` of an optional module, else None."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    extra = EXTRA_OF.get(name)
    return MissingExtraError(extra, name) if extra else None
