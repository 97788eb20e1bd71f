"""Adversarial YAML, model configs, ONNX files and paths: each a clear exit-2 message, no hang, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from input_helpers import clean_error, files_under
from pydantic import ValidationError

from simulator.config.loader import parse_yaml, read_yaml
from simulator.errors import UserError
from workloads.gemm import GemmSpec
from workloads.llm import BaselineSpec
from workloads.models import load_model
from workloads.safe_yaml import MAX_DEPTH, load_yaml
from workloads.skynet import SkyNetSpec

TINY = {"hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64, "vocab_size": 100}
LAUGHS = (
    "["
    + ", ".join([f"&a0 [{', '.join(['x'] * 10)}]"] + [f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)])
    + "]"
)  # nine levels of ten: 10^9 values once expanded


def scenario(tmp_path: Path, workload: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: s\narchitectures: [a100-80gb]\nworkloads:\n  - {workload}\n", encoding="utf-8")
    return path


def test_billion_laughs_is_refused_quickly() -> None:
    with pytest.raises(yaml.YAMLError, match="alias bomb"):
        load_yaml(f"a: {LAUGHS}\n")


def test_alias_bomb_in_an_inline_model_and_in_sweep_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = scenario(tmp_path, f"{{kind: baseline, prompt_tokens: 8, generate_tokens: 2, model: {{x: {LAUGHS}}}}}")
    clean_error(capsys, ["validate", str(model)], f"{model}:4:", "alias bomb")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        f"name: s\narchitectures: [a100-80gb]\nworkloads: [{{kind: gemm, M: 4, N: 4, K: 4}}]\n"
        f"sweep: {{workloads.0.M: {LAUGHS}}}\n"
    )
    for command in ("run", "validate", "sweep"):
        clean_error(capsys, [command, str(sweep), *(["-o", str(tmp_path / "out")] if command != "validate" else [])],
                    "alias bomb")  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_recursive_alias_and_deep_nesting(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="recursive alias"):
        parse_yaml("workloads: &w [*w]\n", file="r.yaml")
    with pytest.raises(UserError, match=f"r.yaml:1:.*nesting deeper than {MAX_DEPTH}"):
        parse_yaml("a: " + "[" * 10_000 + "]" * 10_000, file="r.yaml")
    ok = "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    assert parse_yaml(f"a: {ok}", file="ok.yaml") is not None
    assert parse_yaml("a: &x {p: 1}\nb: [*x, *x]\n", file="ok.yaml")["b"] == [{"p": 1}, {"p": 1}]


def test_non_regular_files_and_missing_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean_error(capsys, ["run", "/dev/zero", "-o", str(tmp_path / "o")], "/dev/zero", "not a regular file")
    clean_error(capsys, ["validate", "/dev/null"], "/dev/null", "not a regular file")
    clean_error(capsys, ["run", "../../nonexistent/flagship", "-o", str(tmp_path / "o")], "no such file")
    clean_error(capsys, ["run", str(tmp_path / "flagship"), "-o", str(tmp_path / "o")], "no such file")
    clean_error(capsys, ["run", "Flagship", "-o", str(tmp_path / "o")], "did you mean 'flagship'")
    with pytest.raises(UserError, match="not a regular file"):
        read_yaml(Path("/dev/zero"))
    assert not (tmp_path / "o").exists()


def test_nul_bytes_in_names_and_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "n.yaml"
    path.write_text('name: "a\\0b"\narchitectures: [a100-80gb]\nworkloads: [{kind: gemm, M: 4, N: 4, K: 4}]\n')
    clean_error(capsys, ["validate", str(path)], "name:", "control characters")
    trace = scenario(tmp_path, '{kind: trace, path: "t\\0.jsonl"}', "t.yaml")
    clean_error(capsys, ["validate", str(trace)], "workloads[0].path", "NUL")


def test_case_mistakes_get_a_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean_error(capsys, ["validate", str(scenario(tmp_path, "{kind: Medusa, model: vicuna-7b}"))],
                "did you mean 'medusa'")  # fmt: skip
    wl = "{kind: baseline, model: Llama-2-13B, prompt_tokens: 8, generate_tokens: 2}"
    clean_error(capsys, ["validate", str(scenario(tmp_path, wl))], "did you mean 'llama-2-13b'")


def test_mixture_of_experts_is_read_or_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Mixtral-style fields are modelled (docs/systems.md); a layout hetsim does not read is refused
    mixtral = {**TINY, "model_type": "mixtral", "num_local_experts": 8, "num_experts_per_tok": 2}
    assert load_model(mixtral).num_experts == 8
    dbrx = {**TINY, "model_type": "dbrx", "ffn_config": {"moe_num_experts": 16, "moe_top_k": 4}}
    (tmp_path / "dbrx.json").write_text(json.dumps(dbrx))
    wl = "{kind: baseline, model: dbrx.json, prompt_tokens: 8, generate_tokens: 2}"
    clean_error(capsys, ["validate", str(scenario(tmp_path, wl))], "workloads[0].model", "ffn_config",
                "mixture of experts")  # fmt: skip
    assert not load_model({**TINY, "num_local_experts": 1}).is_moe  # one expert is a dense model


def test_heads_must_divide_hidden_size() -> None:
    with pytest.raises(ValueError, match=r"num_attention_heads\(=3\) must divide hidden_size\(=64\)"):
        load_model({**TINY, "num_attention_heads": 3})
    assert load_model({**TINY, "num_attention_heads": 3, "num_key_value_heads": 1, "head_dim": 16}).q_dim == 48


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("bad.json", b'{"hidden_size": 64,, }', "bad.json:1:20: not valid JSON"),
        ("bad.yaml", b"hidden_size: [64\n", "bad.yaml:2:1: YAML syntax error"),
        ("latin1.yaml", b"hidden_size: 64\nname: \xff\n", "latin1.yaml: expected a model config file in UTF-8"),
        ("list.json", b"[1, 2]", "list.json: expected a mapping"),
        ("missing.json", None, "missing.json: model config file not found"),
    ],
)
def test_model_config_file_errors_name_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes | None, needle: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    wl = f"{{kind: baseline, model: {name}, prompt_tokens: 8, generate_tokens: 2}}"
    clean_error(capsys, ["validate", str(scenario(tmp_path, wl))], "workloads[0].model", needle)


def test_onnx_file_of_garbage_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    (tmp_path / "g.onnx").write_bytes(bytes(range(256)) * 8)
    path = scenario(tmp_path, "{kind: onnx, path: g.onnx}")
    clean_error(capsys, ["validate", str(path)], "workloads[0].path", "g.onnx: not a readable ONNX model")
    clean_error(capsys, ["run", str(path), "-o", str(tmp_path / "out")], "not a readable ONNX model")


def test_numbers_are_strict() -> None:
    for bad in (True, "64"):
        with pytest.raises(ValidationError, match="expected a number, not a boolean or a quoted string"):
            GemmSpec.model_validate({"M": bad, "N": 4, "K": 4})
    assert GemmSpec.model_validate({"M": 4, "N": 4, "K": 4}).m == 4


def test_generate_tokens_far_beyond_reason_is_refused_unless_asked() -> None:
    huge = {"model": TINY, "prompt_tokens": 8, "generate_tokens": 1_000_000_000}
    with pytest.raises(ValidationError, match="would emit about 20,000,000,000 operators, more than max_operators"):
        BaselineSpec.model_validate(huge)
    assert BaselineSpec.model_validate({**huge, "max_operators": 10**11}).generate_tokens == 10**9
    with pytest.raises(ValidationError, match="max_operators"):
        GemmSpec.model_validate({"M": 4, "N": 4, "K": 4, "repeat": 10**10})


def test_a_prompt_filling_the_context_with_one_generated_token_fits() -> None:
    """Issue 8's off-by-one: the token prefill produces is never fed back, so it takes no position."""
    assert BaselineSpec(model="llama-2-7b", prompt_tokens=4096, generate_tokens=1).prompt_tokens == 4096
    assert BaselineSpec(model="llama-2-7b", prompt_tokens=4000, generate_tokens=97).generate_tokens == 97
    with pytest.raises(ValidationError, match=r"4097 positions\) exceeds the model's max_position_embeddings"):
        BaselineSpec(model="llama-2-7b", prompt_tokens=4096, generate_tokens=2)


def test_precision_is_an_alias_of_dtype(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert SkyNetSpec.model_validate({"precision": "fp16"}).dtype == "fp16"
    assert SkyNetSpec.model_validate({"dtype": "w11a9"}).dtype == "w11a9"
    with pytest.raises(ValidationError, match="not both"):
        SkyNetSpec.model_validate({"dtype": "fp16", "precision": "fp32"})
    assert "dtype" in SkyNetSpec().model_dump(by_alias=True)


def test_errors_touch_nothing_outside_the_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = files_under(tmp_path)
    bad = scenario(tmp_path, "{kind: gemm, M: true, N: 4, K: 4}")
    clean_error(capsys, ["run", str(bad), "-o", str(tmp_path / "out")], "workloads[0].M")
    assert files_under(tmp_path) - before == {bad}


def test_numbers_are_strict_in_architectures_and_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arch = '{base: a100-80gb, name: x, set: {compute_units.tensor.instances: true, memories.hbm.efficiency: "0.9"}}'
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nseed: true\narchitectures: [{arch}]\nworkloads: [{{kind: gemm, M: 4, N: 4, K: 4}}]\n")
    clean_error(
        capsys,
        ["validate", str(path)],
        "3 problems",
        "seed: expected a number",
        "compute_units.tensor.instances: expected a number",
        "memories.hbm.efficiency: expected a number",
    )
    tile = '{base: a100-80gb, name: x, set: {compute_units.tensor.utilisation.tile_m: "64"}}'
    path.write_text(f"name: s\narchitectures: [{tile}]\nworkloads: [{{kind: gemm, M: 4, N: 4, K: 4}}]\n")
    clean_error(capsys, ["validate", str(path)], "compute_units.tensor.utilisation.tile_m: expected a number")
