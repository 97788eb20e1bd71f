"""``python -m simulator.bench``."""

from simulator.bench.cli import main

raise SystemExit(main())
