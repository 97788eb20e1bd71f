"""``python -m tools.crosscheck``: run every cross-check and print hetsim vs the peers."""

import sys

from tools.crosscheck.run import main

sys.exit(main())
