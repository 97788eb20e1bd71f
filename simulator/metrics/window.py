"""Which operators a run's timeline keeps: the timeline window, decided as the trace streams by.

A timeline of every operator of a 250k-operator decode would be hundreds of MB and unreadable;
keeping only the first operators shows nothing but the prefill. :class:`TimelineRecorder` keeps a
bounded, useful window and says which (:class:`~simulator.metrics.result.TimelineWindow`):

- ``auto`` (the default when a report or timeline is asked for): the first ``limit`` operators of
  step 0 (the prefill, or the whole of a one-step workload such as a CNN or a GEMM) and one later
  step from the middle of the run, up to ``limit`` operators of it (a decode step; for Medusa, a
  step's heads, tree verification and accept). The run's length is not known while it streams, so
  candidate steps 1, 2, 3, 4, 6, 8, 12, 16, 24, … (2^k and 3·2^k) are kept as they come and pruned
  as the run grows; at the end the candidate nearest half the last step is kept (within a factor
  of 4/3 of the middle). At most four candidate steps are held at once: memory stays bounded.
- ``first``: the first ``limit`` operators, whatever their steps.
- ``steps``: the steps listed, up to ``limit`` operators each (e.g. ``[0, 100]``).

The engine asks :meth:`TimelineRecorder.wants` when it issues an operator (only wanted operators
pay for records) and hands finished records to :meth:`TimelineRecorder.add`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from simulator.metrics.result import FlowRecord, OpRecord, TimelineWindow

#: Operators kept per kept step when a scenario asks for a report or timeline and sets no ``timeline_limit``.
DEFAULT_LIMIT = 2000


def is_candidate(step: int) -> bool:
    """Steps the ``auto`` window keeps as candidates for the middle step: 2^k and 3·2^k (k ≥ 0)."""
    if step < 1:
        return False
    while step % 2 == 0:
        step //= 2
    return step in (1, 3)


@dataclass
class _Kept:
    ops: list[OpRecord] = field(default_factory=list)
    flows: list[FlowRecord] = field(default_factory=list)
    wanted: int = 0


class TimelineRecorder:
    """Keeps the records of the operators in a timeline window (``mode`` ``auto``, ``first`` or ``steps``)."""

    def __init__(self, limit: int, mode: str = "first", steps: Sequence[int] = ()) -> None:
        if limit < 0:
            raise ValueError(f"limit(={limit}) must be >= 0")
        if mode not in ("auto", "first", "steps"):
            raise ValueError(f"mode(={mode!r}) must be 'auto', 'first' or 'steps'")
        self.limit = limit
        self.mode = mode if limit > 0 else "none"
        self.steps = frozenset(steps)
        self.max_step = 0
        self._kept: dict[int, _Kept] = {}
        self._issued = 0
        self._floor_step = 1

    def wants(self, step: int) -> bool:
        """Whether the operator being issued (of ``step``) is to be recorded."""
        if self.mode == "none":
            return False
        if self.mode == "first":
            self._issued += 1
            return self._issued <= self.limit
        if step > self.max_step:
            self.max_step = step
            if self.mode == "auto":
                self._floor_step = self._floor()
                for old in [s for s in self._kept if s != 0 and s < self._floor_step]:
                    del self._kept[old]
        if self.mode == "steps" and step not in self.steps:
            return False
        if self.mode == "auto" and step != 0 and not is_candidate(step):
            return False
        if self.mode == "auto" and step != 0 and step < self._floor_step:
            return False
        kept = self._kept.setdefault(step, _Kept())
        if kept.wanted >= self.limit:
            return False
        kept.wanted += 1
        return True

    def add(self, op: OpRecord, flows: Sequence[FlowRecord] = ()) -> None:
        """Keep a finished operator's record and its transfers (dropped if its step was pruned meanwhile)."""
        kept = self._kept.get(op.step) if self.mode != "first" else self._kept.setdefault(0, _Kept())
        if kept is None:
            return
        kept.ops.append(op)
        kept.flows.extend(flows)

    def _floor(self) -> int:
        """The smallest candidate still useful: the largest candidate at or below half the steps seen so far."""
        half = self.max_step / 2
        below = [s for s in self._kept if s != 0 and s <= half]
        return max(below) if below else 1

    def _chosen(self) -> list[int]:
        if self.mode != "auto":
            return sorted(self._kept)
        later = [s for s in self._kept if s != 0 and self._kept[s].ops]
        middle = self.max_step / 2
        chosen = [0] if 0 in self._kept else []
        if later:
            chosen.append(min(later, key=lambda s: (abs(s - middle), s)))
        return chosen

    def result(self, operators: int) -> tuple[tuple[OpRecord, ...], tuple[FlowRecord, ...], TimelineWindow]:
        """The kept records in time order and the window's description (``operators``: the run's total)."""
        chosen = self._chosen()
        ops = sorted((op for s in chosen for op in self._kept[s].ops), key=lambda o: (o.start_s, o.op_id))
        flows = sorted((f for s in chosen for f in self._kept[s].flows), key=lambda f: (f.start_s, f.op_id, f.link))
        steps = tuple(chosen) if self.mode in ("auto", "steps") else ()
        if self.mode == "none":
            words = "no timeline kept (ask for outputs: timeline or report, with timeline_limit > 0)"
        elif self.mode == "first":
            words = f"the first {len(ops)} of {operators} operators"
        else:
            parts = []
            for s in chosen:
                n = len(self._kept[s].ops)
                cut = f", cut at {self.limit}" if self._kept[s].wanted >= self.limit else ""
                what = "step 0 (prefill or the whole run)" if s == 0 else f"step {s}"
                parts.append(f"{what}: {n} operators{cut}")
            how = (
                f"of {self.max_step + 1} steps, step 0 and the step nearest the middle of the run"
                if self.mode == "auto"
                else "the steps asked for"
            )
            words = ("; ".join(parts) + f" ({how})") if parts else "no operator in the steps asked for"
        window = TimelineWindow(mode=self.mode, limit=self.limit, steps=steps, operators=len(ops), description=words)
        return tuple(ops), tuple(flows), window
