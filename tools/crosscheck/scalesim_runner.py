"""Run SCALE-Sim on one convolution and print its cycle counts as JSON (standalone script).

SCALE-Sim (``scalesim`` on PyPI) needs ``numpy<2``, so it lives in its own environment
(``.venv-scalesim``) that does not have hetsim installed: this file imports only the standard
library and ``scalesim`` and is run by path::

    .venv-scalesim/bin/python tools/crosscheck/scalesim_runner.py --rows 32 --cols 32 \
        --ifmap 58 58 --filter 3 3 --channels 64 --filters 64 --stride 1

The layer is given as SCALE-Sim's convolution topology sees it (input already padded; output
``(ifmap - filter) / stride + 1``). The dataflow is weight stationary (``ws``) and the SRAMs are
large enough to hold the layer, so the compute cycles are the array's alone.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import sys
import tempfile
from pathlib import Path

CONFIG = """\
[general]
run_name = crosscheck

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = {sram_kb}
FilterSramSzkB = {sram_kb}
OfmapSramSzkB = {sram_kb}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = ws
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
"""

TOPOLOGY_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def parse_report(text: str) -> list[dict[str, float]]:
    """Rows of a SCALE-Sim CSV report (``COMPUTE_REPORT.csv`` and friends) keyed by header name."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = [h.strip() for h in lines[0].split(",") if h.strip()]
    rows = []
    for line in lines[1:]:
        values = [v.strip() for v in line.split(",") if v.strip()]
        rows.append({h: float(v) for h, v in zip(header, values, strict=False)})
    return rows


def run(args: argparse.Namespace) -> dict[str, float]:
    """Write the config, topology and layout files, run SCALE-Sim, read its reports."""
    # the peer, importable only in its own environment (imported by name: nothing types it)
    scalesim = importlib.import_module("scalesim.scale_sim").scalesim

    with tempfile.TemporaryDirectory(prefix="scalesim-") as tmp:
        root = Path(tmp)
        (root / "scale.cfg").write_text(CONFIG.format(rows=args.rows, cols=args.cols, sram_kb=args.sram_kb))
        ih, iw = args.ifmap
        fh, fw = args.filter
        layer = f"conv, {ih}, {iw}, {fh}, {fw}, {args.channels}, {args.filters}, {args.stride},\n"
        (root / "topo.csv").write_text(TOPOLOGY_HEADER + layer)
        # The layout file is read even when no custom layout is used; same leading columns plus the
        # bank parameters it expects (unused here).
        (root / "layout.csv").write_text(
            "Layer name, " + ", ".join(f"c{i}" for i in range(16)) + ",\n"
            f"conv, {ih}, {iw}, {fh}, {fw}, {args.channels}, {args.filters}, {args.stride}, " + "1, " * 8 + "1,\n"
        )
        sim = scalesim(
            save_disk_space=True,
            verbose=False,
            config=str(root / "scale.cfg"),
            topology=str(root / "topo.csv"),
            layout=str(root / "layout.csv"),
        )
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            sim.run_scale(top_path=str(root / "out"))
        reports = root / "out" / "crosscheck"
        compute = parse_report((reports / "COMPUTE_REPORT.csv").read_text())[0]
        access = parse_report((reports / "DETAILED_ACCESS_REPORT.csv").read_text())[0]
    return {
        "compute_cycles": compute["Total Cycles"],
        "total_cycles_with_prefetch": compute["Total Cycles (incl. prefetch)"],
        "stall_cycles": compute["Stall Cycles"],
        "compute_util_percent": compute["Compute Util %"],
        "sram_ifmap_reads": access["SRAM IFMAP Reads"],
        "sram_filter_reads": access["SRAM Filter Reads"],
        "sram_ofmap_writes": access["SRAM OFMAP Writes"],
        "dram_ifmap_reads": access["DRAM IFMAP Reads"],
        "dram_filter_reads": access["DRAM Filter Reads"],
        "dram_ofmap_writes": access["DRAM OFMAP Writes"],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the layer, run SCALE-Sim, print one JSON object on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--cols", type=int, default=32)
    parser.add_argument("--ifmap", type=int, nargs=2, default=(58, 58), metavar=("H", "W"))
    parser.add_argument("--filter", type=int, nargs=2, default=(3, 3), metavar=("R", "S"))
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument("--sram-kb", type=int, default=1024, help="each of the ifmap/filter/ofmap SRAMs")
    args = parser.parse_args(argv)
    json.dump(run(args), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
