"""``hetsim schema [-o DIR]``: JSON Schema of scenario, architecture and runtime files (for editors).

With ``-o DIR`` writes ``scenario.schema.json``, ``architecture.schema.json`` and ``runtime.schema.json``;
without, prints one JSON object holding the three.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def schemas() -> dict[str, dict[str, Any]]:
    """``{"scenario", "architecture", "runtime"}`` → JSON Schema (validation form, YAML keys)."""
    from simulator.config.architecture import ArchitectureSpec, RuntimeSpec
    from simulator.config.scenario import ScenarioFile

    out = {}
    for name, model in (("scenario", ScenarioFile), ("architecture", ArchitectureSpec), ("runtime", RuntimeSpec)):
        schema = model.model_json_schema(by_alias=True, mode="validation")
        ref = schema.pop("$ref", None)
        if isinstance(ref, str):  # a recursive model (a system's chip is an architecture): inline the root
            schema = {**schema["$defs"][ref.rsplit("/", 1)[-1]], "$defs": schema["$defs"]}
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"hetsim {name} file"
        out[name] = schema
    return out


def register(subparsers: Any) -> None:
    """Add the ``schema`` subcommand."""
    from simulator.commands import COMMANDS, describe

    parser: argparse.ArgumentParser = subparsers.add_parser("schema", help=COMMANDS["schema"], **describe(__doc__))
    parser.add_argument("-o", "--out", type=Path, default=None, help="folder for the *.schema.json files")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write or print the schemas."""
    documents = schemas()
    if args.out is None:
        print(json.dumps(documents, indent=2))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, schema in documents.items():
        path = args.out / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        print(path)
    return 0
