"""The docs cannot drift: the YAML reference is the generator's output, and relative links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import docsgen

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(text):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_yaml_reference_is_generated_output() -> None:
    committed = (ROOT / docsgen.REFERENCE).read_text(encoding="utf-8")
    assert committed == docsgen.generate(), "docs/yaml-reference.md is stale: run `make docs`"


def test_metrics_page_is_generated_output() -> None:
    from simulator.metrics.registry import METRICS, metrics_page

    committed = docsgen.METRICS_PAGE.read_text(encoding="utf-8")
    assert committed == metrics_page(), "docs/metrics.md is stale: run `make docs`"
    for m in METRICS:  # every metric is documented
        assert f"| `{m.name}` |" in committed


def test_yaml_reference_covers_every_field() -> None:
    text = docsgen.generate()
    from simulator.config.architecture import (
        ArchitectureSpec,
        ComputeUnitSpec,
        LinkSpec,
        MemorySpec,
        RuntimeSpec,
        UtilisationSpec,
    )
    from simulator.config.scenario import ScenarioFile, VariantSpec, workload_classes

    models = [ScenarioFile, VariantSpec, ArchitectureSpec, ComputeUnitSpec, UtilisationSpec, MemorySpec, LinkSpec]
    models += [RuntimeSpec, *workload_classes().values()]
    for model in models:
        for name, info in model.model_fields.items():
            assert f"| `{info.alias or name}` |" in text, f"{model.__name__}.{name} missing"
    for kind in workload_classes():
        assert f"### workload kind {kind}\n" in text


def test_check_mode_detects_drift(tmp_path: Path) -> None:
    path = tmp_path / "ref.md"
    assert docsgen.main([str(path)]) == 0
    assert docsgen.main([str(path), "--check"]) == 0
    path.write_text(path.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert docsgen.main([str(path), "--check"]) == 1


def test_default_path_is_the_repositorys_docs_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = (ROOT / "docs" / "yaml-reference.md").read_text(encoding="utf-8") == docsgen.generate()
    monkeypatch.chdir(tmp_path)  # not the repository root: the default must not be cwd-relative
    assert docsgen.main(["--check"]) == (0 if fresh else 1)
    assert not (tmp_path / "docs").exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    text = _FENCE.sub("", doc.read_text(encoding="utf-8"))
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists():
            broken.append(f"{target} (no file {path})")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target} (no heading #{anchor} in {path.name})")
    assert not broken, f"{doc.name}: broken links: {broken}"


def test_concepts_worked_bandwidth_example() -> None:
    """The 2-flow / 3-link example in docs/concepts.md, replayed on the real flow network."""
    import simpy

    from simulator.engine.flows import FlowNetwork, max_min_rates

    gb, mb = 1e9, 1e6
    caps = [20 * gb, 100 * gb, 100 * gb]  # L1, L2, L3
    assert max_min_rates(caps, [(0, 1), (1, 2)]) == [20 * gb, 80 * gb]
    env = simpy.Environment()
    ends: dict[str, float] = {}
    net = FlowNetwork(env, caps, lambda g: ends.__setitem__(g.payload, env.now))
    net.start_group([((0, 1), 1 * mb)], payload="A")
    net.start_group([((1, 2), 8 * mb)], payload="B")
    env.run()
    assert ends["A"] == pytest.approx(50e-6)
    assert ends["B"] == pytest.approx(90e-6)
    text = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    assert "**50 µs**" in text and "**90 µs**" in text


def test_every_citation_points_into_the_repository() -> None:
    """Citations in code, YAML and docs name a heading of docs/references.md, never a file outside the repo."""
    anchors = _anchors(ROOT / "docs" / "references.md")
    cite = re.compile(r"references\.md#([A-Za-z0-9_-]+)")
    broken, external = [], []
    roots = ["architectures", "workloads", "simulator", "scenarios", "docs", "tests", "README.md"]
    for name in roots:
        base = ROOT / name
        files = [base] if base.is_file() else [p for p in base.rglob("*") if p.suffix in (".py", ".yaml", ".md")]
        for path in files:
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(ROOT)
            broken += [f"{rel}: #{a}" for a in cite.findall(text) if a not in anchors]
            if "papers.md" in text and path.name != "test_docs.py":
                external.append(str(rel))
    assert not broken, f"citations of missing sections of docs/references.md: {broken}"
    assert not external, f"citations of a reference file outside the repository: {external}"
