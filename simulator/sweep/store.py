"""The resumable sweep results store: one SQLite row per finished point, committed as soon as it finishes.

Each :meth:`ResultsStore.add` is its own transaction with ``synchronous=FULL``, so a finished
point is on disk (fsynced) before the next one is handed back; a crash mid-sweep loses at most
the points in flight. Rerunning a sweep opens the same file, asks :meth:`done_ids` and skips
those points. The store remembers a fingerprint of the base scenario: reusing it for a
different scenario is an error rather than a silent mix of results.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from simulator.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    point_id TEXT PRIMARY KEY,
    point_index INTEGER NOT NULL,
    overrides TEXT NOT NULL,
    result TEXT NOT NULL,
    finished_at REAL NOT NULL
);
"""


class ResultsStore:
    """SQLite-backed store of finished sweep points (``point_id`` → overrides and result, JSON)."""

    def __init__(self, path: str | Path, *, fingerprint: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; explicit transactions
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        if fingerprint is not None:
            row = self._db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            elif row[0] != fingerprint:
                self._db.close()
                raise UserError(
                    f"{self.path}: this sweep store belongs to a different scenario (the base scenario changed); "
                    "use another output folder or delete the store to start over"
                )

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def done_ids(self) -> set[str]:
        """Ids of the points already stored."""
        return {row[0] for row in self._db.execute("SELECT point_id FROM points")}

    def add(self, point_id: str, index: int, overrides: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        """Store one finished point durably (one committed transaction). A point stored twice is an error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(
                "INSERT INTO points VALUES (?, ?, ?, ?, ?)",
                (
                    point_id,
                    index,
                    json.dumps(dict(overrides), sort_keys=True, default=str),
                    json.dumps(dict(result), default=str, allow_nan=True),
                    time.time(),
                ),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def records(self) -> list[dict[str, Any]]:
        """Every stored point as ``{"point_id", "index", "overrides", "result"}``, in sweep order."""
        rows = self._db.execute(
            "SELECT point_id, point_index, overrides, result FROM points ORDER BY point_index, point_id"
        )
        return [
            {"point_id": pid, "index": idx, "overrides": json.loads(ov), "result": json.loads(res)}
            for pid, idx, ov, res in rows
        ]

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])
