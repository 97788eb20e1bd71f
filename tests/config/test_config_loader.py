"""Loader: every kind of user mistake is one UserError naming file, key path and the expectation."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.config.loader import (
    REPO_ROOT,
    builtin_architectures,
    builtin_runtimes,
    load_architecture,
    load_runtime,
    read_yaml,
    set_dotted,
)
from simulator.config.scenario import load_scenario, scenario_from_dict
from simulator.errors import UserError

GEMM = {"kind": "gemm", "M": 8, "N": 64, "K": 64}


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def scenario(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "t", "architectures": ["a100-80gb"], "workloads": [dict(GEMM)]}
    data.update(overrides)
    return data


def error_of(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(UserError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def a100_raw() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "architectures" / "a100-80gb.yaml").read_text())


# ---- built-ins ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(builtin_architectures()))
def test_every_builtin_architecture_validates(name: str) -> None:
    arch = load_architecture(name)
    assert arch.name == name
    assert arch.description


@pytest.mark.parametrize("name", sorted(builtin_runtimes()))
def test_every_builtin_runtime_validates(name: str) -> None:
    assert load_runtime(name).name == name


def test_expected_builtins_exist() -> None:
    assert {"a100-80gb", "h100-sxm", "jetson-tx2", "ultra96", "edge-soc"} <= set(builtin_architectures())
    assert {"ideal", "eager", "graphs", "timed_call"} <= set(builtin_runtimes())


def test_a100_numbers() -> None:
    arch = load_architecture("a100-80gb")
    hbm = arch.memories["hbm"]
    assert hbm.bandwidth_bytes_per_s == pytest.approx(2.039e12)
    assert hbm.sustained_bandwidth_bytes_per_s == pytest.approx(1.77e12, rel=1e-3)
    # the measured 13.11 pJ per bit served by HBM, split by level: HBM, crossing L2, the SM's shared memory
    per_bit = hbm.read_energy_j_per_byte + arch.memories["l2"].pass_energy_j_per_byte
    per_bit += arch.compute_units["tensor"].sram_energy_j_per_byte
    assert per_bit == pytest.approx(13.11e-12 * 8)
    assert arch.active_idle_power_w == pytest.approx(50.0)
    assert arch.compute_units["tensor"].peak_flops_per_s["fp16"] == pytest.approx(312e12)
    assert arch.mapping["*"] == "cuda" and arch.mapping["matmul"] == "tensor"


def test_builtins_resolve_from_package_data_first(tmp_path: Path) -> None:
    """The installed layout: simulator/_data/architectures holds the files, no repository around."""
    data = tmp_path / "_data"
    shutil.copytree(REPO_ROOT / "architectures", data / "architectures")
    raw = a100_raw()
    raw["description"] = "from package data"
    write(data / "architectures" / "a100-80gb.yaml", raw)
    roots = (data, REPO_ROOT)
    assert builtin_architectures(roots)["a100-80gb"] == data / "architectures" / "a100-80gb.yaml"
    assert load_architecture("a100-80gb", roots=roots).description == "from package data"
    assert load_runtime("eager", roots=(data,)).name == "eager"
    # only the package data, as in a wheel installed outside the repository
    spec = scenario_from_dict(scenario(runtime="graphs"), file="s.yaml", base_dir=tmp_path, roots=(data,))
    assert spec.architectures[0].description == "from package data"


def test_builtin_scenario_name_resolves_from_package_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "_data"
    shutil.copytree(REPO_ROOT / "architectures", data / "architectures")
    write((data / "scenarios").mkdir(parents=True) or data / "scenarios" / "mini.yaml", scenario(name="mini"))
    monkeypatch.chdir(tmp_path)
    assert load_scenario("scenarios/mini.yaml", roots=(data,)).name == "mini"
    assert load_scenario("mini", roots=(data,)).name == "mini"


# ---- variants -------------------------------------------------------------------------------


def test_variant_set_changes_the_value() -> None:
    variant = {"base": "a100-80gb", "name": "a100-2x-hbm", "set": {"memories.hbm.bandwidth": "4.078 TB/s"}}
    arch = load_architecture(variant)
    assert arch.name == "a100-2x-hbm"
    assert arch.memories["hbm"].bandwidth_bytes_per_s == pytest.approx(4.078e12)
    assert load_architecture("a100-80gb").memories["hbm"].bandwidth_bytes_per_s == pytest.approx(2.039e12)


def test_variant_can_set_a_defaulted_key_and_chain() -> None:
    inner = {"base": "a100-80gb", "name": "v1", "set": {"compute_units.tensor.efficiency": 0.5}}
    outer = {"base": inner, "name": "v2", "set": {"links.2.bandwidth": "1 TB/s"}}
    arch = load_architecture(outer)
    assert arch.compute_units["tensor"].efficiency == 0.5
    assert arch.links[2].bandwidth_bytes_per_s == pytest.approx(1e12)


def test_variant_file_with_relative_base(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", a100_raw())
    write(tmp_path / "v.yaml", {"base": "base.yaml", "name": "v", "set": {"static_power": "20 W"}})
    assert load_architecture(str(tmp_path / "v.yaml")).static_power_w == 20.0


def test_bad_dotted_path_lists_valid_keys() -> None:
    message = error_of(
        load_architecture, {"base": "a100-80gb", "name": "x", "set": {"memories.hmb.bandwidth": "1 TB/s"}}
    )
    assert "set.memories.hmb.bandwidth" in message
    assert "valid keys: hbm, l2" in message


def test_unknown_base() -> None:
    message = error_of(load_architecture, {"base": "a100-40gb", "name": "x"}, file="s.yaml")
    assert "s.yaml: base: unknown architecture 'a100-40gb'" in message
    assert "a100-80gb" in message


def test_set_dotted_rejects_list_overrun() -> None:
    data = {"links": [{"a": 1}]}
    with pytest.raises(KeyError, match=r"index 0\.\.0"):
        set_dotted(data, "links.3.a", 2)


# ---- errors ---------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    message = error_of(load_scenario, tmp_path / "nope.yaml")
    assert "nope.yaml" in message and "not found" in message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "name: t\narchitectures: [a100-80gb\nworkloads: []\n")
    message = error_of(read_yaml, path)
    assert f"{path}:" in message and "YAML syntax error" in message
    line = int(message.split(f"{path}:")[1].split(":")[0])
    assert line in (2, 3)


def test_unknown_key_lists_valid_keys(tmp_path: Path) -> None:
    raw = a100_raw()
    raw["memories"]["hbm"]["bandwith"] = "1 TB/s"
    path = write(tmp_path / "arch.yaml", raw)
    message = error_of(load_architecture, str(path))
    assert str(path) in message
    assert "memories.hbm.bandwith: unknown key (did you mean 'bandwidth'?)" in message
    assert "read_energy" in message


def test_bad_unit_names_key_path_and_example(tmp_path: Path) -> None:
    raw = a100_raw()
    raw["memories"]["hbm"]["bandwidth"] = "2039"
    path = write(tmp_path / "arch.yaml", raw)
    message = error_of(load_architecture, str(path))
    assert "memories.hbm.bandwidth" in message and "'2.039 TB/s'" in message


def test_wrong_dimension() -> None:
    variant = {"base": "a100-80gb", "name": "x", "set": {"memories.hbm.bandwidth": "2 TB"}}
    assert "wrong kind of unit" in error_of(load_architecture, variant)


def test_all_problems_collected_in_one_error(tmp_path: Path) -> None:
    data = scenario(
        architectures=["a100-80gb", "a100-90gb", {"base": "a100-80gb", "name": "v", "set": {"memories.x": 1}}],
        workloads=[dict(GEMM), {"kind": "gemx"}, {"kind": "gemm", "M": 0, "N": 1, "K": 1, "colour": 3}],
        runtime="eagre",
        outputs=["table", "pdf"],
    )
    with pytest.raises(UserError) as info:
        scenario_from_dict(data, file="s.yaml", base_dir=tmp_path)
    text = str(info.value)
    paths = {p.path for p in info.value.problems}
    assert ("architectures", 1) in paths
    assert ("workloads", 1, "kind") in paths
    assert ("workloads", 2, "M") in paths and ("workloads", 2, "colour") in paths
    assert "workloads[2].colour: unknown key; valid keys: K, M, N, batch" in text
    assert ("runtime",) in paths
    assert ("outputs", 1) in paths
    assert "unknown runtime 'eagre' (did you mean 'eager'?)" in text
    assert "kinds: gemm" in text or "kinds: " in text
    assert "s.yaml: workloads[2].M" in text


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(scenario_from_dict, scenario(worklods=[]), file="s.yaml", base_dir=tmp_path)
    assert "s.yaml: worklods: unknown key (did you mean 'workloads'?)" in message
    assert "timeline_limit" in message


def test_dangling_references() -> None:
    raw = a100_raw()
    raw["placement"]["weight"] = "dram"
    raw["links"].append({"between": ["tensor", "nvlink"], "bandwidth": "1 TB/s"})
    raw["mapping"]["softmax"] = "sfu"
    raw["compute_units"]["cuda"]["buffer"] = "smem"
    with pytest.raises(UserError) as info:
        load_architecture(raw, file="arch.yaml")
    text = str(info.value)
    assert "placement.weight: unknown memory 'dram'; memories: hbm, l2" in text
    assert "links[3].between[1]: unknown endpoint 'nvlink'" in text
    assert "mapping.softmax: unknown compute unit 'sfu'" in text
    assert "compute_units.cuda.buffer: unknown memory 'smem'" in text


def test_unreachable_memory() -> None:
    raw = a100_raw()
    raw["links"] = [link for link in raw["links"] if link["between"] != ["l2", "hbm"]]
    message = error_of(load_architecture, raw, file="arch.yaml")
    assert "memory 'hbm' (home of activation, kv_cache, weight) cannot be reached from compute unit" in message


def test_scenario_mapping_override_checked(tmp_path: Path) -> None:
    message = error_of(scenario_from_dict, scenario(mapping={"matmul": "npu"}), file="s.yaml", base_dir=tmp_path)
    assert "mapping.matmul: unknown compute unit 'npu'" in message


def test_missing_architecture_file_is_the_scenario_problem(tmp_path: Path) -> None:
    message = error_of(scenario_from_dict, scenario(architectures=["hw/none.yaml"]), file="s.yaml", base_dir=tmp_path)
    assert message.startswith("s.yaml: architectures[0]:") and "not found" in message


def test_unknown_runtime_and_inline_runtime(tmp_path: Path) -> None:
    assert "built-in names: eager, graphed_eager, graphs, ideal" in error_of(load_runtime, "fast")
    spec = scenario_from_dict(scenario(runtime={"name": "r", "per_kernel_overhead": "5 us"}), base_dir=tmp_path)
    assert spec.runtime.per_kernel_overhead_s == pytest.approx(5e-6)
    assert "per_kernel_overhead" in error_of(load_runtime, {"name": "r", "per_kernel_overhead": 5})


def test_duplicate_names(tmp_path: Path) -> None:
    message = error_of(scenario_from_dict, scenario(architectures=["a100-80gb", "a100-80gb"]), base_dir=tmp_path)
    assert "duplicate architecture name 'a100-80gb'" in message
    message = error_of(scenario_from_dict, scenario(workloads=[GEMM, GEMM]), base_dir=tmp_path)
    assert "duplicate workload name 'gemm'" in message


# ---- scenario -------------------------------------------------------------------------------


def test_defaults_seed_and_resolved_round_trip(tmp_path: Path) -> None:
    data = scenario(
        architectures=["a100-80gb", {"base": "a100-80gb", "name": "fast", "set": {"memories.hbm.bandwidth": "4 TB/s"}}],
        seed=7,
        sweep={"architectures.0.memories.hbm.bandwidth": ["1 TB/s", "2 TB/s"]},
    )
    spec = scenario_from_dict(data, file="s.yaml", base_dir=tmp_path)
    assert spec.runtime.name == "ideal"
    assert spec.outputs == ("table", "json", "csv")
    assert spec.workloads[0].seed == 7
    assert spec.sweep == {"architectures.0.memories.hbm.bandwidth": ("1 TB/s", "2 TB/s")}
    resolved = spec.resolved
    assert resolved["architectures"][1]["memories"]["hbm"]["bandwidth"] == "4 TB/s"
    again = scenario_from_dict(yaml.safe_load(yaml.safe_dump(resolved)), base_dir=tmp_path)
    assert again.resolved == spec.resolved  # quantities written with 12 digits: same text, same runs
    assert again.workloads == spec.workloads
    assert again.architectures[1].memories["hbm"].bandwidth_bytes_per_s == pytest.approx(4e12)


def test_relative_paths_resolve_against_scenario_dir(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    write(sub / "hw.yaml", a100_raw() | {"name": "mine"})
    write(sub / "rt.yaml", {"name": "rt", "per_kernel_overhead": "2 us"})
    write(sub / "s.yaml", scenario(architectures=["hw.yaml"], runtime="rt.yaml"))
    spec = load_scenario(sub / "s.yaml")
    assert spec.architectures[0].name == "mine" and spec.runtime.name == "rt"


def test_variant_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"base": "b.yaml", "name": "a"})
    write(tmp_path / "b.yaml", {"base": "a.yaml", "name": "b"})
    assert "cycle" in error_of(load_architecture, str(tmp_path / "a.yaml"))


def test_unknown_variant_key_and_default_name() -> None:
    assert "valid keys: base, name, description, set" in error_of(load_architecture, {"base": "a100-80gb", "sett": {}})
    assert load_architecture({"base": "a100-80gb"}).name == "a100-80gb-variant"


def test_workload_on_restricts_the_architectures_it_runs_on() -> None:
    from simulator.runner import run_scenario

    data = scenario(
        architectures=["a100-80gb", "h100-sxm"],
        workloads=[{**GEMM, "name": "everywhere"}, {**GEMM, "name": "h100-only", "only_on": ["h100-sxm"]}],
    )
    spec = scenario_from_dict(data, file="s.yaml")
    assert spec.on == (None, ("h100-sxm",))
    runs = [(r.architecture, r.workload) for r in run_scenario(spec).runs]
    assert runs == [("a100-80gb", "everywhere"), ("h100-sxm", "everywhere"), ("h100-sxm", "h100-only")]
    again = scenario_from_dict(spec.resolved, file="resolved.yaml")  # the resolved form keeps `only_on`
    assert again.on == spec.on


def test_workload_on_names_unknown_architectures() -> None:
    data = scenario(workloads=[{**GEMM, "only_on": ["a100-90gb"]}, {**GEMM, "name": "b", "only_on": "a100-80gb"}])
    message = error_of(scenario_from_dict, data, file="s.yaml")
    assert "s.yaml: workloads[0].only_on: not architectures of this scenario: ['a100-90gb']" in message
    assert "workloads[1].only_on: expected a non-empty list of architecture names" in message


# ---- hostile inputs (final review) ------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"\x00\x01\xff\xfe", "name: caf\xe9\n".encode("latin-1"), "name: x\n".encode("utf-16")]
)
def test_file_that_is_not_utf8_text(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(content)
    message = error_of(load_scenario, path)
    assert str(path) in message and "UTF-8" in message


def test_key_written_twice_is_an_error_but_merge_keys_still_override(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", "name: a\nname: b\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm}]\n")
    message = error_of(load_scenario, path)
    assert f"{path}:2:1" in message and "key 'name' appears twice (first on line 1)" in message
    assert read_yaml(write(tmp_path / "m.yaml", "a: &x {p: 1, q: 2}\nb: {<<: *x, p: 3}\n")) == {
        "a": {"p": 1, "q": 2},
        "b": {"p": 3, "q": 2},
    }


@pytest.mark.parametrize("kind", [["gemm"], {"a": 1}])
def test_workload_kind_that_is_not_a_string(kind: Any) -> None:
    message = error_of(scenario_from_dict, scenario(workloads=[{"kind": kind}]), file="s.yaml")
    assert "s.yaml: workloads[0].kind: unknown workload kind" in message and "gemm" in message


def test_zero_bandwidth_is_an_architecture_problem() -> None:
    raw = a100_raw()
    raw["memories"]["hbm"]["bandwidth"] = 0
    raw["links"][0]["bandwidth"] = 0
    message = error_of(load_architecture, raw, file="a.yaml")
    assert "a.yaml: memories.hbm.bandwidth: must be greater than 0" in message
    assert "a.yaml: links[0].bandwidth: must be greater than 0" in message


def test_negative_scenario_seed() -> None:
    message = error_of(scenario_from_dict, scenario(seed=-1), file="s.yaml")
    assert "s.yaml: seed: Input should be greater than or equal to 0 (got -1)" in message


def test_runtime_kinds_and_kernel_counts_are_checked() -> None:
    ref = {"name": "r", "kernels_per_op": {"matmull": 1, "norm": -1}, "sync_on": ["sampl"]}
    message = error_of(load_runtime, ref, file="r.yaml")
    assert "r.yaml: kernels_per_op.norm: Input should be greater than or equal to 0 (got -1)" in message
    message = error_of(load_runtime, {**ref, "kernels_per_op": {"matmull": 1}}, file="r.yaml")
    assert "r.yaml: kernels_per_op.matmull: unknown operator kind" in message
    assert "r.yaml: sync_on[0]: unknown operator kind 'sampl'" in message


def test_key_paths_carry_no_pydantic_markers() -> None:
    raw = a100_raw()
    raw["placement"]["weights"] = raw["placement"].pop("weight")
    message = error_of(load_architecture, raw, file="a.yaml")
    assert "a.yaml: placement.weights: Input should be 'weight'" in message and "[key]" not in message
    bad_model = {"kind": "baseline", "model": 5, "prompt_tokens": 8, "generate_tokens": 2}
    message = error_of(scenario_from_dict, scenario(workloads=[bad_model]), file="s.yaml")
    assert message == "s.yaml: workloads[0].model: Input should be a valid string or a valid dictionary (got 5)"
    bad_tree = {"kind": "medusa", "model": "vicuna-7b", "prompt_tokens": 8, "generate_tokens": 2, "tree": [["a"]]}
    message = error_of(scenario_from_dict, scenario(workloads=[bad_tree]), file="s.yaml")
    assert message.startswith("s.yaml: workloads[0].tree[0][0]: Input should be a valid integer")


def test_unit_errors_use_the_right_article() -> None:
    raw = a100_raw()
    raw["compute_units"]["tensor"]["energy_per_flop"]["fp16"] = "1 pJ"
    assert "expected an energy per flop with its unit" in error_of(load_architecture, raw)


def test_only_on_is_not_blamed_when_an_architecture_failed_to_load() -> None:
    data = scenario(architectures=["a100-90gb"], workloads=[{**GEMM, "only_on": ["a100-80gb"]}])
    message = error_of(scenario_from_dict, data, file="s.yaml")
    assert "unknown architecture 'a100-90gb'" in message and "only_on" not in message


def test_a_folder_given_as_architecture_or_runtime_is_the_scenario_problem(tmp_path: Path) -> None:
    (tmp_path / "hw").mkdir()
    data = scenario(architectures=["./hw/"], runtime="./hw/")
    message = error_of(scenario_from_dict, data, file="s.yaml", base_dir=tmp_path)
    hw = tmp_path / "hw"
    assert f"s.yaml: architectures[0]: {hw}: expected a YAML architecture file, found a directory" in message
    assert f"s.yaml: runtime: {hw}: expected a YAML runtime file, found a directory" in message


@pytest.mark.parametrize("name", ["", " ", "..", "../escape", "a/b", "a\\b"])
def test_scenario_name_must_be_a_folder_name(name: str) -> None:
    message = error_of(scenario_from_dict, scenario(name=name), file="s.yaml")
    assert "s.yaml: name: expected a name usable as a folder name" in message


@pytest.mark.parametrize(
    ("text", "dimension", "needle"),
    [
        ("1 mB", "size", "'mB' would be a fraction of a B; did you mean 'MB'?"),
        ("2 mbit/s", "bandwidth", "did you mean 'Mbit'?"),
        ("1e3", "bandwidth", "got '1e3' (write the unit)"),
    ],
)
def test_quantity_typos(text: str, dimension: str, needle: str) -> None:
    from simulator.units import UnitError, parse_quantity

    with pytest.raises(UnitError, match=re.escape(needle)):
        parse_quantity(text, dimension)
