"""Side-by-side rows (hetsim vs a peer) and their plain-text rendering."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any


def pct_diff(hetsim: float | None, peer: float | None) -> float | None:
    """``(hetsim - peer) / peer`` in percent; ``None`` when either side is missing or the peer is 0."""
    if hetsim is None or peer is None or peer == 0:
        return None
    return 100.0 * (hetsim - peer) / peer


@dataclass(frozen=True)
class Row:
    """One compared quantity: hetsim's value, one peer's value, the unit they are both shown in."""

    check: str
    quantity: str
    unit: str
    hetsim: float | None
    peer: str
    peer_value: float | None
    note: str = ""

    @property
    def diff_percent(self) -> float | None:
        """The hetsim value relative to the peer's, in percent."""
        return pct_diff(self.hetsim, self.peer_value)

    def to_json(self) -> dict[str, Any]:
        """The row with its difference, for ``--json``."""
        return {**asdict(self), "diff_percent": self.diff_percent}


#: Display scale per unit: values are stored in SI (s, B, pJ, FLOP, cycles) and shown scaled.
SCALES: dict[str, tuple[float, str]] = {
    "s": (1e3, "ms"),
    "B": (1e-9, "GB"),
    "FLOP": (1e-12, "TFLOP"),
    "pJ": (1e-6, "µJ"),
    "cycles": (1.0, "cycles"),
    "words": (1.0, "words"),
}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    scale, _ = SCALES.get(unit, (1.0, unit))
    shown = value * scale
    if abs(shown) >= 1e4:
        return f"{shown:,.0f}"
    return f"{shown:.4g}"


def render(rows: Iterable[Row]) -> str:
    """Rows grouped by check, aligned columns: quantity, unit, hetsim, peer, peer value, diff, note."""
    rows = list(rows)
    header = ("quantity", "unit", "hetsim", "peer", "peer value", "diff", "note")
    out: list[str] = []
    checks: list[str] = []
    for row in rows:
        if row.check not in checks:
            checks.append(row.check)
    for check in checks:
        table = [header]
        for row in (r for r in rows if r.check == check):
            diff = row.diff_percent
            table.append(
                (
                    row.quantity,
                    SCALES.get(row.unit, (1.0, row.unit))[1],
                    _fmt(row.hetsim, row.unit),
                    row.peer,
                    _fmt(row.peer_value, row.unit),
                    "—" if diff is None else f"{diff:+.1f}%",
                    row.note,
                )
            )
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        out.append(f"== {check} ==")
        for i, line in enumerate(table):
            cells = [
                c.rjust(w) if j in (2, 4, 5) else c.ljust(w) for j, (c, w) in enumerate(zip(line, widths, strict=True))
            ]
            out.append("  ".join(cells).rstrip())
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append("")
    return "\n".join(out)
