"""Output folders: atomic writes never through symlinks, stale hetsim files pruned, user files kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.outputs import MANIFEST, OutputFolder


def test_write_replaces_a_symlink_and_leaves_its_target(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").symlink_to(outside)
    with OutputFolder(out, producer="run", scenario="s") as folder:
        folder.write_text("results.json", "{}")
    assert outside.read_text() == "keep me"
    assert not (out / "results.json").is_symlink()
    assert (out / "results.json").read_text() == "{}"
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_rerun_removes_only_what_hetsim_wrote_before(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputFolder(out, producer="run", scenario="first") as folder:
        for name in ("results.json", "gantt-old-run.png", "report.html"):
            folder.write_text(name, "x")
    (out / "notes.md").write_text("mine")
    with OutputFolder(out, producer="run", scenario="second") as folder:
        folder.write_text("results.json", "y")
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == ["notes.md", "results.json"]
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["scenario"] == "second" and manifest["files"] == {"run": ["results.json"]}


def test_compare_after_run_of_the_same_scenario_keeps_the_run_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputFolder(out, producer="run", scenario="s") as folder:
        folder.write_text("results.json", "x")
    with OutputFolder(out, producer="compare", scenario="s") as folder:
        folder.write_text("compare.csv", "x")
    assert (out / "results.json").exists() and (out / "compare.csv").exists()
    with OutputFolder(out, producer="compare", scenario="other") as folder:
        folder.write_text("compare.csv", "y")
    assert not (out / "results.json").exists()  # the last scenario's results


def test_a_failed_write_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with OutputFolder(out, producer="run", scenario="a") as folder:
        folder.write_text("report.html", "x")
    with pytest.raises(RuntimeError), OutputFolder(out, producer="run", scenario="b") as folder:
        folder.write_text("results.json", "y")
        raise RuntimeError("interrupted")
    assert (out / "report.html").exists()
    with OutputFolder(out, producer="run", scenario="b") as folder:  # the next complete run cleans up
        folder.write_text("results.json", "y")
    assert not (out / "report.html").exists()


def test_manifest_names_outside_the_folder_are_ignored(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    link = out / "linked.png"
    link.symlink_to(victim)
    manifest = {"generator": "hetsim", "scenario": "a", "files": {"run": ["../victim.txt", "linked.png"]}}
    (out / MANIFEST).write_text(json.dumps(manifest))
    with OutputFolder(out, producer="run", scenario="b") as folder:
        folder.write_text("results.json", "{}")
    assert victim.exists() and link.is_symlink()


def test_names_must_stay_in_the_folder(tmp_path: Path) -> None:
    with OutputFolder(tmp_path / "o") as folder, pytest.raises(ValueError):
        folder.write_text("../x", "")
