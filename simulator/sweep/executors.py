"""Executors: run a function over sweep points and hand back each result as soon as it finishes.

The :class:`Executor` protocol is one method, ``map_unordered(fn, items)``, yielding ``(item,
result)`` pairs in completion order. An exception raised by ``fn`` propagates out of the
iteration (after the points already yielded were handed back), and points not yet started are
cancelled: a crash loses at most the points in flight.

- :class:`SerialExecutor`: this process, one point after another.
- :class:`LocalProcessExecutor`: a pool of worker processes on this machine. Workers never outlive
  the sweep: an interrupted sweep (Ctrl-C, SIGTERM, an error) terminates them, and a worker whose
  parent died (kill -9) exits within a second (``PR_SET_PDEATHSIG`` on Linux, a watchdog elsewhere).
- :class:`DaskExecutor`: a Dask cluster (``dask.distributed``, the ``hetsim[cluster]`` extra), either
  an existing one by scheduler address or a ``LocalCluster`` started for the sweep.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from simulator.errors import UserError

T = TypeVar("T")
R = TypeVar("R")

#: How often a worker checks that its parent is alive where the OS cannot tell it (seconds).
WATCHDOG_INTERVAL_S = 1.0


class Executor(Protocol):
    """Runs ``fn`` over ``items``; yields ``(item, fn(item))`` as each finishes, in any order."""

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Yield ``(item, result)`` pairs in completion order; ``fn``'s exceptions propagate."""
        ...


class SerialExecutor:
    """Runs points one after the other in this process (debugging, tests, tiny sweeps)."""

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Yield ``(item, fn(item))`` in order."""
        for item in items:
            yield item, fn(item)


def _exit_with_parent(parent: int) -> None:
    """Worker start-up: die with the parent, leave Ctrl-C to it.

    A worker blocked in a long point would otherwise run on for minutes after its sweep was killed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_INTERVAL_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="hetsim-parent-watchdog", daemon=True).start()


class LocalProcessExecutor:
    """Runs points on a local pool of ``jobs`` worker processes (``concurrent.futures``).

    At most ``2 × jobs`` points are submitted at once, so a sweep of many points does not queue
    them all up front; ``fn`` and the items must be picklable (module-level functions, plain data).
    """

    def __init__(self, jobs: int | None = None) -> None:
        if jobs is not None and jobs < 1:
            raise ValueError(f"jobs(={jobs}) must be >= 1")
        self.jobs = jobs or os.cpu_count() or 1

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Yield ``(item, result)`` as workers finish; on an error, cancel queued points and re-raise.

        When the iteration ends early (an error, Ctrl-C, SIGTERM turned into an exception, the caller
        closing the generator) the workers are terminated at once rather than left to finish their points.
        """
        pending: dict[Future[R], T] = {}
        source = iter(items)
        window = 2 * self.jobs
        pool = ProcessPoolExecutor(max_workers=self.jobs, initializer=_exit_with_parent, initargs=(os.getpid(),))
        finished = False
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending[pool.submit(fn, item)] = item
                if not pending:
                    finished = True
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                # Hand back every finished result before raising a failure finished at the same time.
                for future in sorted(done, key=lambda f: f.exception() is not None):
                    item = pending.pop(future)
                    yield item, future.result()
        finally:
            if not finished:
                # no cancel() first: the pool marks every pending future broken once its workers are gone,
                # and Python 3.11-3.13 raise InvalidStateError in the pool's thread on a cancelled one
                _terminate_workers(pool)
                pool.shutdown(wait=True)
            else:
                pool.shutdown(wait=True, cancel_futures=True)


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers now (``concurrent.futures`` has no public call for it before Python 3.14)."""
    processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(Exception):
            process.terminate()
    for process in list(processes.values()):
        with contextlib.suppress(Exception):
            process.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Dask


def _dask() -> Any:
    """The ``distributed`` module, or a :class:`UserError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise UserError(
            "--executor dask needs dask.distributed, which is not installed: pip install 'hetsim[cluster]' "
            "(or pip install 'dask[distributed]')"
        ) from None
    return distributed


def _worker_identity() -> tuple[str, str]:
    """What a Dask worker runs: the hetsim version and the digest of the code that computes results."""
    from simulator.sweep.keys import code_digest
    from simulator.version import __version__

    return __version__, code_digest()


class DaskExecutor:
    """Runs points on a Dask cluster: the scheduler at ``scheduler``, or a ``LocalCluster`` of ``jobs`` workers.

    The workers must run the same hetsim (version and result-computing code) as this process,
    since the store keys results by them: this is checked on connecting. Files a scenario
    points to (trace files, model configs) must be readable at the same path on the workers.
    ``processes=False`` runs a local cluster's workers as threads of this process (tests).
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        jobs: int | None = None,
        processes: bool = True,
        connect_timeout_s: float = 20.0,
    ) -> None:
        _dask()
        if jobs is not None and jobs < 1:
            raise ValueError(f"jobs(={jobs}) must be >= 1")
        self.scheduler = scheduler
        self.jobs = jobs
        self.processes = processes
        self.connect_timeout_s = connect_timeout_s

    def _connect(self) -> tuple[Any, Any]:
        distributed = _dask()
        if self.scheduler is None:
            cluster = distributed.LocalCluster(
                n_workers=self.jobs or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=self.processes,
                dashboard_address=None,
            )
            return distributed.Client(cluster), cluster
        try:
            return distributed.Client(self.scheduler, timeout=f"{self.connect_timeout_s}s"), None
        except (OSError, TimeoutError) as exc:
            raise UserError(f"--scheduler {self.scheduler}: cannot reach a Dask scheduler there ({exc})") from None

    def _check_workers(self, client: Any) -> int:
        """Number of worker threads; a worker without hetsim or with other code is an error."""
        try:
            identities = client.run(_worker_identity)
        except ImportError as exc:
            raise UserError(f"the Dask workers cannot import hetsim ({exc}); install hetsim on them") from None
        mine = _worker_identity()
        other = {worker: ident for worker, ident in identities.items() if tuple(ident) != mine}
        if other:
            worker, (version, _) = next(iter(other.items()))
            raise UserError(
                f"Dask worker {worker} runs hetsim {version} with different result code than this hetsim "
                f"{mine[0]}; install the same hetsim on every worker (results are stored by code version)"
            )
        threads: dict[str, int] = client.nthreads()
        return max(1, sum(threads.values()))

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """Submit at most ``2 × worker threads`` points at a time; yield each result as it completes.

        Nothing to run (a resumed sweep that is complete) connects to nothing and starts no cluster.
        """
        distributed = _dask()
        source = iter(items)
        try:
            first = next(source)
        except StopIteration:
            return
        source = itertools.chain([first], source)
        client, cluster = self._connect()
        pending: dict[Any, T] = {}
        try:
            window = 2 * self._check_workers(client)
            completed = distributed.as_completed()
            exhausted = False

            def refill() -> None:
                nonlocal exhausted
                while not exhausted and len(pending) < window:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        return
                    future = client.submit(fn, item, pure=False)
                    pending[future] = item
                    completed.add(future)

            refill()
            while pending:
                future = next(completed)
                item = pending.pop(future)
                result = future.result()  # raises fn's exception here, after earlier results were handed back
                yield item, result
                refill()
        finally:
            with contextlib.suppress(Exception):
                client.cancel(list(pending))
            with contextlib.suppress(Exception):
                client.close()
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()


#: Executor names accepted by ``hetsim sweep --executor``.
EXECUTORS = ("local", "serial", "dask")


def make_executor(name: str, *, jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor called ``name`` (``local``, ``serial`` or ``dask``; ``scheduler`` only for ``dask``)."""
    if scheduler is not None and name != "dask":
        raise UserError(f"--scheduler is for --executor dask (got --executor {name})")
    if name == "local":
        return LocalProcessExecutor(jobs)
    if name == "serial":
        return SerialExecutor()
    if name == "dask":
        return DaskExecutor(scheduler, jobs=jobs)
    raise UserError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
