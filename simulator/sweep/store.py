"""The resumable sweep results store: one SQLite row per finished point, keyed by the point's content.

A row's key is the hash of the point's fully resolved inputs plus the hetsim and cost-model
versions (:mod:`simulator.sweep.keys`): a point whose architecture file, model config or cost
model changed has a new key and is computed again, never served from an older row; the same
inputs reached from another sweep (or twice in one) are computed once.

Each :meth:`ResultsStore.add` is its own transaction with ``synchronous=FULL``, so a finished point
is on disk (fsynced) before the next one is handed back; a crash mid-sweep loses at most the points
in flight. One sweep at a time may use a store: opening takes an exclusive lock on ``<store>.lock``
beside it, and a second sweep into the same folder is told the folder is in use. A store that is
not a database, is read-only or whose disk is full is a :class:`UserError` naming the file; the
store is never modified by a failed open and a failed write leaves every committed point intact.

Stores written by hetsim before content keys (table ``points``, keyed by the sweep overrides) are
left as they are; their rows are never read (they cannot tell a stale result from a current one).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from simulator.errors import UserError
from simulator.version import __version__

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    point_id TEXT NOT NULL,
    overrides TEXT NOT NULL,
    result TEXT NOT NULL,
    hetsim_version TEXT NOT NULL,
    finished_at REAL NOT NULL
);
"""


def _explain(path: Path, exc: sqlite3.Error, doing: str) -> UserError:
    """A SQLite failure as the user's problem with the store file, saying what is safe."""
    text = str(exc)
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text.lower():
        why = "it cannot be written (a read-only file, folder or file system?)"
    elif "full" in text:
        why = "the disk (or the file system's quota) is full"
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        why = "it is not a readable sweep store (a damaged or foreign file)"
    elif "locked" in text or "busy" in text:
        why = "another process holds the database"
    else:
        why = text
    return UserError(
        f"{path}: cannot {doing} the sweep store: {why} ({text}). The points already stored are kept as they are; "
        "fix this and rerun to resume, or use another output folder (-o)"
    )


class _FolderLock:
    """An exclusive, non-blocking lock on ``<store>.lock``: two sweeps must not share one store at once.

    The operating system drops the lock when the process ends, however it ends (kill -9 included),
    so a crashed sweep never leaves the folder locked.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: SQLite's own locking keeps rows consistent
            return
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise UserError(
                f"{self.path.parent}: this folder is in use by another sweep ({holder}); wait for it to finish, "
                "or write to another folder with -o"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None


class ResultsStore:
    """SQLite-backed store of finished sweep points: content key → point id, overrides and result (JSON)."""

    def __init__(self, path: str | Path, *, lock: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _FolderLock(self.path.with_name(self.path.name + ".lock")) if lock else None
        if self._lock is not None:
            self._lock.acquire()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; explicit transactions
        except sqlite3.Error as exc:
            self._release()
            raise _explain(self.path, exc, "open") from None
        try:
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=10000")
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "results" not in tables:
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', '2')")
            # a write now, not after the first point: a read-only store fails before any work is done
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('opened_by', ?)", (f"hetsim {__version__}",))
        except sqlite3.Error as exc:
            self.close()
            raise _explain(self.path, exc, "open") from None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def close(self) -> None:
        """Close the database and release the folder lock."""
        try:
            self._db.close()
        finally:
            self._release()

    def done_keys(self) -> set[str]:
        """Keys of the points already stored."""
        try:
            return {row[0] for row in self._db.execute("SELECT key FROM results")}
        except sqlite3.Error as exc:
            raise _explain(self.path, exc, "read") from None

    def add(self, key: str, point_id: str, overrides: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        """Store one finished point durably (one committed transaction); a key stored again is replaced.

        The same key means the same resolved inputs and code, so replacing changes nothing a reader can tell.
        """
        row = (
            key,
            point_id,
            json.dumps(dict(overrides), sort_keys=True, default=str),
            json.dumps(dict(result), default=str, allow_nan=True),
            __version__,
            time.time(),
        )
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)", row)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite already rolled back after some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _explain(self.path, exc, "write to") from None

    def results(self, keys: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Stored points by key (``{"point_id", "overrides", "result"}``): all of them, or those of ``keys``."""
        wanted = None if keys is None else set(keys)
        out: dict[str, dict[str, Any]] = {}
        try:
            for key, pid, overrides, result in self._db.execute("SELECT key, point_id, overrides, result FROM results"):
                if wanted is None or key in wanted:
                    out[key] = {"point_id": pid, "overrides": json.loads(overrides), "result": json.loads(result)}
        except sqlite3.Error as exc:
            raise _explain(self.path, exc, "read") from None
        return out

    def __len__(self) -> int:
        try:
            return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        except sqlite3.Error as exc:
            raise _explain(self.path, exc, "read") from None
