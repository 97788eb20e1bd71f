"""Helpers for adversarial-input tests: run ``hetsim`` in-process and check for a clean exit-2 message."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cli import main


def clean_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str, code: int = 2) -> str:
    """Run ``hetsim argv``; assert exit ``code``, no traceback, and every needle in the message."""
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def files_under(folder: Path) -> set[Path]:
    """Every file below ``folder`` (to check that nothing outside an output folder was touched)."""
    return {p for p in folder.rglob("*") if p.is_file()}
