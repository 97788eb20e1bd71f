"""User-facing errors: every mistake in a user's input names the file, the key path and what was expected.

The CLI turns a :class:`UserError` into a one-paragraph message and exit code 2; anything else is
a bug in hetsim and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KeyPath = Sequence[str | int]


def format_key_path(path: KeyPath) -> str:
    """Render a key path the way a user would write it: ``memories.hbm.bandwidth``, ``workloads[2].kind``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input: where (file, key path) and what was expected."""

    file: str | None
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        """``file: key.path: message``, leaving out whichever of file and key path is unknown or empty."""
        return ": ".join(part for part in (self.file, format_key_path(self.path), self.message) if part)


class UserError(Exception):
    """A mistake in the user's input (YAML, trace file, CLI argument): reported without a traceback.

    ``args`` is ``(problems,)``, so ``type(e)(*e.args)`` rebuilds an equal error: SimPy re-creates a
    failed process's exception that way when it crosses the event loop, and a subclass whose
    constructor took other arguments would turn a clear message into a ``TypeError`` traceback.
    """

    def __init__(self, problems: Iterable[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, (), problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """All problems, one per line (a user fixes them in one pass, as ZigZag's validator allows)."""
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def user_error(file: str | None, path: KeyPath, message: str) -> UserError:
    """Build a single-problem :class:`UserError`."""
    return UserError([Problem(file, tuple(path), message)])


class CapacityError(UserError):
    """A memory level would hold more bytes than it has: the scenario does not fit the hardware."""
