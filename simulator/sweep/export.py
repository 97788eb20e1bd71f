"""Sweep rows to files: CSV (always ``sweep.csv``) and, on request, Parquet for pandas/Polars users.

Both writers take the same flat rows and column order. Parquet needs ``pyarrow`` (the
``hetsim[parquet]`` extra); asking for it without pyarrow is a clear error before the sweep runs.
Columns keep their types in Parquet: numbers as float64/int64, text as strings, missing as null;
a sweep value that is a whole mapping (an architecture variant) is stored as its JSON text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simulator.errors import UserError

#: File suffixes ``--export`` accepts.
EXPORT_SUFFIXES = (".csv", ".parquet")


def check_export(path: Path) -> Path:
    """``path`` if hetsim can write that kind of file here; else a :class:`UserError` saying why."""
    if path.suffix not in EXPORT_SUFFIXES:
        raise UserError(f"--export {path}: expected a file name ending in {' or '.join(EXPORT_SUFFIXES)}")
    if path.suffix == ".parquet":
        _pyarrow()
    return path


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise UserError(
            "--export *.parquet needs pyarrow, which is not installed: pip install 'hetsim[parquet]' (or pyarrow)"
        ) from None
    return pyarrow


def _cell(value: Any) -> Any:
    """A value as a CSV/Parquet cell: mappings and lists as JSON text, non-finite floats kept."""
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV text (missing values empty), columns in ``columns`` order."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else _cell(row.get(k))) for k in columns})
    return buffer.getvalue()


def write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> Path:
    """Rows as a CSV file at a path the user chose (an export)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(csv_text(rows, columns))
    return path


def _column(values: list[Any]) -> tuple[list[Any], str]:
    """A column's cells and its Parquet type: int64, float64 or string (mixed columns become text)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return values, "int64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return [None if v is None else float(v) for v in values], "float64"
    if present and all(isinstance(v, bool) for v in present):
        return values, "bool"
    return [None if v is None else (v if isinstance(v, str) else str(_cell(v))) for v in values], "string"


def write_parquet(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> Path:
    """Rows as a Parquet file, one typed column per name in ``columns``.

    Metric columns carry their description and unit from the metrics registry as field metadata
    (``description``), so the file documents itself for pandas/Polars users, and are float64 (null
    where a metric does not apply) in every file: the schema is the registry's, not this sweep's values.
    """
    pa = _pyarrow()
    import pyarrow.parquet as pq

    from simulator.metrics.registry import IDENTITY_COLUMNS, parquet_field_docs, sweep_columns

    docs = parquet_field_docs()
    metrics = set(sweep_columns())
    arrays, fields = [], []
    for name in columns:
        cells, kind = _column([row.get(name) for row in rows])
        if name in metrics:  # the registry's contract: a metric is a float or null, whatever this sweep holds
            cells, kind = [None if v is None else float(v) for v in cells], "float64"
        elif name in IDENTITY_COLUMNS or name in ("point_id", "error"):
            cells, kind = [None if v is None else str(v) for v in cells], "string"
        arrays.append(pa.array(cells, type=getattr(pa, kind)()))
        meta = {"description": docs[name]} if name in docs else None
        fields.append(pa.field(name, getattr(pa, kind)(), metadata=meta))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), path)
    return path


def export_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> Path:
    """Write ``rows`` to ``path`` in the format its suffix names (see :data:`EXPORT_SUFFIXES`)."""
    check_export(path)
    if path.suffix == ".parquet":
        return write_parquet(rows, columns, path)
    return write_csv(rows, columns, path)


__all__ = ["EXPORT_SUFFIXES", "check_export", "export_rows", "write_csv", "write_parquet"]
