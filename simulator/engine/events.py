"""A SimPy environment that counts the events it processes."""

from __future__ import annotations

import simpy


class CountingEnvironment(simpy.Environment):
    """``simpy.Environment`` with :attr:`processed`: the number of events stepped through."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.processed = 0

    def step(self) -> None:
        """Process the next event and count it."""
        self.processed += 1
        super().step()
