"""Worker processes for per-file work (decoding, features): one core each, started the
fastest safe way, fed a bounded window of tasks."""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager


@contextmanager
def single_core():
    """Within it, this process computes on one core: BLAS and OpenMP pools, numba's
    kernels and (if imported) torch are pinned to one thread; all restored on exit."""
    from threadpoolctl import threadpool_limits

    from ..features import parallel as fast  # the numba kernels' flag, without numba

    torch = sys.modules.get("torch")
    was_parallel = fast.is_parallel()
    was_threads = torch.get_num_threads() if torch is not None else None
    fast.set_parallel(False)
    try:
        with threadpool_limits(1):
            if torch is not None:
                torch.set_num_threads(1)
            yield
    finally:
        fast.set_parallel(was_parallel)
        if torch is not None:
            torch.set_num_threads(was_threads)


_WORKER_PIN = ExitStack()


def _init_worker():
    """Each worker is one core for its whole life, and dies with its parent (a killed
    ``preprocess`` must not leave workers writing entries)."""
    from ..ui import one_line_warnings

    _die_with_parent()
    _WORKER_PIN.enter_context(single_core())
    one_line_warnings()  # a file decoded in part: one line from the worker too


def _die_with_parent() -> None:
    """Linux: SIGTERM this process when its parent dies (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import os
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def _numba_threads_started() -> bool:
    par = sys.modules.get("numba.np.ufunc.parallel")
    return bool(getattr(par, "_is_initialized", True)) if par is not None else False


def worker_pool(jobs: int):
    """A process pool for CPU-bound file work. It forks (workers start at once and share
    the parent's loaded modules and compiled kernels) unless the parent has thread pools
    that are not fork-safe (torch imported, or numba's OpenMP layer started); then it
    spawns fresh interpreters."""
    import multiprocessing as mp

    method = "fork" if (sys.platform == "linux" and "torch" not in sys.modules
                        and not _numba_threads_started()) else "spawn"
    return ProcessPoolExecutor(jobs, mp_context=mp.get_context(method),
                               initializer=_init_worker)


def bounded_map(pool, fn, items: Iterable[tuple], window: int) -> Iterator:
    """``fn(*item)`` for every item on ``pool``, in input order, with at most ``window``
    tasks in flight: results (decoded audio, features) wait in memory only that long,
    however many files there are (``Executor.map`` would submit them all at once)."""
    pending = deque()
    for item in items:
        pending.append(pool.submit(fn, *item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
