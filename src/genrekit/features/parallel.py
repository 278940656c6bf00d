"""How many threads feature work uses, without importing what it limits.

- Whether the fast backend's numba kernels run on numba's thread pool: a flag that needs no
  numba, so a one-core worker is pinned before (or without ever) importing it (a prediction
  worker of a base install has no numba at all).
- :func:`one_blas_thread`: BLAS on one thread while features are computed (its idle
  workers would spin and slow the model that runs next)."""

from __future__ import annotations

#: Kernels run on numba's thread pool unless set_parallel(False) (one core per process:
#: the worker pools run many single-core processes instead)
PARALLEL = [True]


def is_parallel() -> bool:
    """Do the kernels run on numba's thread pool (see :func:`set_parallel`)?"""
    return PARALLEL[0]


def set_parallel(flag: bool) -> None:
    PARALLEL[0] = bool(flag)


def one_blas_thread():
    """A context in which BLAS (numpy's, and any other loaded) computes on one thread.

    For features computed in the process that runs the model: OpenBLAS's worker threads
    busy-wait for the next call after each one, and the mel projection's matrix product
    woke them; onnxruntime's two threads then shared the two cores with them for ~0.1 s,
    and the first 6 of a 30 s clip's 10 slices ran 1.5-2x slower (measured on 2 cores:
    8-10 ms a slice back to back, 15-20 ms right after a clip's features). The products here
    are small; one thread costs them nothing that shows. Finding the libraries costs ~0.3 ms
    a call, done each time so that one loaded later (torch's, scipy's) is limited too."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas")
