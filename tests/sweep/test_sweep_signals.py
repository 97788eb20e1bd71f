"""A killed sweep leaves no worker behind: SIGTERM and Ctrl-C end the workers, kill -9 of the parent too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil", reason="part of hetsim[test]")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and signals as on Linux")

# The sweep CLI with every point sleeping for two minutes: workers are busy when the parent is killed.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    import simulator.sweep.run as sweep_run

    def slow_point(task):
        time.sleep(120)
        return {"error": None, "runs": []}

    sweep_run.evaluate_task = slow_point
    from simulator.cli import main
    sys.exit(main(["sweep", sys.argv[1], "-o", sys.argv[2], "-j", "2", "-q"]))
    """
)

SCENARIO = """\
name: slow
architectures: [a100-80gb]
workloads: [{kind: gemm, m: 1, n: 64, k: 64}]
sweep: {workloads.0.m: [1, 2, 3, 4, 5, 6]}
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "run.py").write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "run.py"), str(tmp_path / "s.yaml"), str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path.cwd(),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        children = [c.pid for c in psutil.Process(proc.pid).children()]
        if len(children) >= 2:
            time.sleep(1.0)  # let the workers pick up their (sleeping) points
            return proc, children
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the sweep never started its workers")


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_or_ctrl_c_ends_the_workers_and_says_so(tmp_path: Path, sig: int, code: int) -> None:
    proc, workers = _start(tmp_path)
    try:
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == code
        assert _gone_within(workers, 10), "workers still running after the sweep ended"
        err = proc.stderr.read().decode() if proc.stderr else ""
        assert "Traceback" not in err
        assert ("terminated" if sig == signal.SIGTERM else "interrupted") in err
    finally:
        proc.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_kill_9_of_the_parent_ends_the_workers(tmp_path: Path) -> None:
    proc, workers = _start(tmp_path)
    try:
        proc.kill()
        proc.wait(timeout=10)
        assert _gone_within(workers, 10), "workers outlived their killed parent"
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
