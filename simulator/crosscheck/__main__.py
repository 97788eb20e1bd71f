"""``python -m simulator.crosscheck``: run every cross-check and print hetsim vs the peers."""

import sys

from simulator.crosscheck.run import main

sys.exit(main())
