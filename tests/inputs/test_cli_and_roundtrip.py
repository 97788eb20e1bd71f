"""Resolved scenarios reload bit-identically; the CLI starts light and speaks plain text (issue 12, items 6/7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from input_helpers import clean_error

from simulator.cli import main
from simulator.commands import COMMANDS, plain_text, plural
from simulator.config.loader import REPO_ROOT, builtin_architectures, load_architecture
from simulator.config.scenario import load_scenario, scenario_from_dict, to_yaml_data
from simulator.units import _FORMAT_UNITS, format_exact, parse_quantity


@settings(max_examples=2000, deadline=None)
@given(
    dimension=st.sampled_from(sorted(_FORMAT_UNITS)),
    value=st.floats(min_value=1e-30, max_value=1e30, allow_nan=False, allow_infinity=False),
)
def test_exact_quantities_parse_back_to_the_same_float(dimension: str, value: float) -> None:
    assert parse_quantity(format_exact(value, dimension), dimension) == value


def test_exact_quantities_stay_readable() -> None:
    assert format_exact(0.6e-12, "energy_per_flop") == "0.6 pJ/FLOP"  # not "600 fJ/FLOP" (a different float)
    assert format_exact(80 * 2**30, "size") == "80 GiB"
    assert format_exact(1.41e9, "frequency") == "1.41 GHz"
    assert format_exact(312e12, "flop_rate") == "312 TFLOP/s"


@pytest.mark.parametrize("name", sorted(builtin_architectures()))
def test_architectures_written_back_load_bit_identical(name: str) -> None:
    arch = load_architecture(name)
    again = load_architecture(yaml.safe_load(yaml.safe_dump(to_yaml_data(arch))))
    assert again == arch


SET = "memories.lpddr.bandwidth"


def test_rerunning_the_resolved_scenario_is_bit_identical(tmp_path: Path) -> None:
    """Run a scenario, run its scenario.resolved.yaml: the same resolved form and the same numbers."""
    source = tmp_path / "s.yaml"
    source.write_text(
        yaml.safe_dump(
            {
                "name": "roundtrip",
                "architectures": ["a100-80gb", {"base": "edge-soc", "name": "e2", "set": {SET: "0.3 TB/s"}}],
                "workloads": [{"kind": "gemm", "M": 16, "N": 512, "K": 512, "repeat": 2}],
            }
        )
    )  # fmt: skip
    assert main(["run", str(source), "-o", str(tmp_path / "a"), "-q"]) == 0
    resolved = tmp_path / "a" / "scenario.resolved.yaml"
    assert main(["run", str(resolved), "-o", str(tmp_path / "b"), "-q"]) == 0
    assert load_scenario(resolved).resolved == load_scenario(tmp_path / "b" / "scenario.resolved.yaml").resolved
    first, second = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("a", "b"))
    for run in (*first["runs"], *second["runs"]):
        run.pop("wall_s", None)
    assert first["runs"] == second["runs"]
    flagship = load_scenario(REPO_ROOT / "scenarios" / "flagship.yaml")
    assert scenario_from_dict(yaml.safe_load(yaml.safe_dump(flagship.resolved))).resolved == flagship.resolved


def test_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "``" not in out and ":class:" not in out and ":func:" not in out, (name, out)
    assert plain_text("See :class:`~simulator.errors.UserError` and ``x``.") == "See UserError and x."


def test_listed_help_lines_match_each_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``hetsim --help`` lists commands without importing them: the listed lines must match their modules."""
    from simulator.cli import build_parser

    full = build_parser()  # every command registered by its own module
    actions = [a for a in full._actions if a.dest == "command"]
    listed = {c.dest: c.help for c in actions[0]._choices_actions}  # type: ignore[attr-defined]
    assert listed == COMMANDS


def test_help_imports_nothing_heavy() -> None:
    """``hetsim --help`` used to import pydantic models, matplotlib, SimPy (~1 s of CPU); now the standard library."""
    code = (
        "import sys; from simulator.cli import main; main(['--help']); "
        "print(sorted(m for m in ('pydantic', 'matplotlib', 'simpy', 'networkx', 'numpy', 'rich', 'yaml') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    validate = "import sys; from simulator.cli import main; main(['validate', 'scenarios/flagship.yaml']); " \
        "print('matplotlib' in sys.modules)"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", validate], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_plurals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [plural(n, "operator") for n in (0, 1, 2)] == ["0 operators", "1 operator", "2 operators"]
    assert plural(1, "memory", "memories") == "1 memory" and plural(3, "memory", "memories") == "3 memories"
    assert main(["trace", "{kind: gemm, M: 4, N: 4, K: 4}", "-o", str(tmp_path / "t.jsonl")]) == 0
    assert "wrote 1 operator to" in capsys.readouterr().out
    path = tmp_path / "s.yaml"
    path.write_text("name: s\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, M: 4, N: 4, K: 4}]\n")
    assert clean_error(capsys, ["validate", str(path)], code=0) == ""


def test_make_demo_does_not_install_the_test_tools() -> None:
    """`make demo` depends on the runtime stamp only; the `[test]` extra has its own stamp for lint/check/test."""
    text = (REPO_ROOT / "Makefile").read_text()
    recipes: dict[str, str] = {}
    for block in text.split("\n\n"):
        head, _, body = block.partition("\n")
        if ":" in head and not head.startswith(("#", "\t")):
            recipes[head.split(":")[0].strip()] = head + "\n" + body
    assert "[test]" not in recipes["$(STAMP)"]
    assert "[test]" in recipes["$(TEST_STAMP)"]
    assert recipes["demo"].split("##")[0].split(":")[1].split() == ["$(STAMP)"]
    assert "$(TEST_STAMP)" in recipes["lint"].splitlines()[0]
