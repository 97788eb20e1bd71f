"""Writing an output folder safely: atomic files, never through symlinks, and no stale results left behind.

Every file hetsim writes into an output folder goes through :class:`OutputFolder`:

- a file is written to a temporary file in the same folder and renamed over its name, so a symlink
  at that name is replaced by the new file, never followed (a link to a file outside the folder is
  left pointing where it did, and its target is untouched); a crash leaves the old file whole;
- the folder keeps a manifest (``.hetsim-manifest.json``) of the files hetsim wrote there, by
  command (``run``, ``compare``) and scenario. When a command finishes writing, the files the
  manifest lists that this write did not produce again are removed: those of the same command for
  the same scenario (a report no longer asked for, the plots of a run that no longer exists), and
  every earlier file when the scenario changed (the last scenario's plots beside new results).
  ``hetsim compare`` after ``hetsim run`` of the same scenario keeps the run's files. Only names in
  the manifest are ever removed, and only plain files directly inside the folder: a user's own
  files (and symlinks) are never deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from types import TracebackType

#: The manifest's file name inside an output folder.
MANIFEST = ".hetsim-manifest.json"


class OutputFolder:
    """An output folder being written; use as a context manager (stale files go and the manifest is written on success).

    ``producer`` names the command writing (``run``, ``compare``); ``scenario`` the scenario it
    wrote for (``None``: files written one by one through the Python API, which never prune).
    """

    def __init__(self, path: str | Path, *, producer: str = "api", scenario: str | None = None) -> None:
        self.path = Path(path)
        self.producer = producer
        self.scenario = scenario
        self.written: list[Path] = []
        self._names: set[str] = set()
        self._previous: dict[str, list[str]] = {}
        self._previous_scenario: str | None = None

    def __enter__(self) -> OutputFolder:
        self.path.mkdir(parents=True, exist_ok=True)
        self._previous_scenario, self._previous = _read_manifest(self.path)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        sets = {producer: list(files) for producer, files in self._previous.items()}
        scenario = self._previous_scenario
        if exc_type is None and self.scenario is not None:
            same = self._previous_scenario == self.scenario
            stale = self._previous.get(self.producer, []) if same else [f for fs in self._previous.values() for f in fs]
            for name in stale:
                if name not in self._names:
                    _remove_own(self.path, name)
            sets = {p: [f for f in fs if f not in self._names] for p, fs in sets.items()} if same else {}
            sets[self.producer] = sorted(self._names)
            scenario = self.scenario
        else:  # a failed or unnamed write removes nothing: keep every name so a later run can clean up
            sets[self.producer] = sorted(set(sets.get(self.producer, [])) | self._names)
        sets = {p: fs for p, fs in sets.items() if fs}
        document = {"generator": "hetsim", "scenario": scenario, "files": sets}
        self._write_atomic(MANIFEST, (json.dumps(document, indent=1) + "\n").encode("utf-8"))

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write ``data`` as ``<folder>/<name>`` atomically, replacing (never following) a symlink there."""
        if not name or "/" in name or "\\" in name or name in (".", "..", MANIFEST):
            raise ValueError(f"output file name {name!r} must be a plain name inside the folder")
        path = self._write_atomic(name, data)
        if name not in self._names:
            self._names.add(name)
            self.written.append(path)
        return path

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` (UTF-8) as ``<folder>/<name>``, as :meth:`write_bytes`."""
        return self.write_bytes(name, text.encode("utf-8"))

    def _write_atomic(self, name: str, data: bytes) -> Path:
        target = self.path / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.path)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)  # renames over a symlink: the link goes, its target is untouched
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _read_manifest(folder: Path) -> tuple[str | None, dict[str, list[str]]]:
    """(scenario, producer -> files) of a folder's manifest; nothing when it is missing or not hetsim's."""
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None, {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None, {}
    if not isinstance(data, dict) or data.get("generator") != "hetsim" or not isinstance(data.get("files"), dict):
        return None, {}
    scenario = data.get("scenario")
    sets = {
        str(producer): [f for f in files if _plain_name(f) and f != MANIFEST]
        for producer, files in data["files"].items()
        if isinstance(files, list)
    }
    return (scenario if isinstance(scenario, str) else None), sets


def _remove_own(folder: Path, name: str) -> None:
    """Remove a file hetsim wrote earlier: a plain file directly in the folder (a symlink is left alone)."""
    path = folder / name
    if path.is_symlink() or not path.is_file():
        return
    with contextlib.suppress(OSError):
        path.unlink()
