"""Executors: run a function over sweep points and hand back each result as soon as it finishes.

The :class:`Executor` protocol is one method, ``map_unordered(fn, items)``, yielding ``(item,
result)`` pairs in completion order. An exception raised by ``fn`` propagates out of the
iteration (after the points already yielded were handed back), and points not yet started are
cancelled: a crash loses at most the points in flight. A Dask executor fits the same protocol
(``client.submit`` + ``as_completed``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Protocol, TypeVar

from simulator.errors import UserError

T = TypeVar("T")
R = TypeVar("R")


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
        """Yield ``(item, result)`` as workers finish; on an error, cancel queued points and re-raise."""
        pending: dict[Future[R], T] = {}
        source = iter(items)
        window = 2 * self.jobs
        with ProcessPoolExecutor(max_workers=self.jobs) as pool:
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
                        return
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    # Hand back every finished result before raising a failure finished at the same time.
                    for future in sorted(done, key=lambda f: f.exception() is not None):
                        item = pending.pop(future)
                        yield item, future.result()
            finally:
                for future in pending:
                    future.cancel()
                pool.shutdown(wait=True, cancel_futures=True)


#: Executor names accepted by ``hetsim sweep --executor``.
EXECUTORS = ("local", "serial")


def make_executor(name: str, *, jobs: int | None = None) -> Executor:
    """The executor called ``name`` (``local`` or ``serial``)."""
    if name == "local":
        return LocalProcessExecutor(jobs)
    if name == "serial":
        return SerialExecutor()
    raise UserError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
