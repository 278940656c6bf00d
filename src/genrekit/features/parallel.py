"""Whether the fast backend's numba kernels run on numba's thread pool: a flag that needs no
numba, so a one-core worker is pinned before (or without ever) importing it (a prediction
worker of a base install has no numba at all)."""

from __future__ import annotations

#: Kernels run on numba's thread pool unless set_parallel(False) (one core per process:
#: the worker pools run many single-core processes instead)
PARALLEL = [True]


def is_parallel() -> bool:
    """Do the kernels run on numba's thread pool (see :func:`set_parallel`)?"""
    return PARALLEL[0]


def set_parallel(flag: bool) -> None:
    PARALLEL[0] = bool(flag)
