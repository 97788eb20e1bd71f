"""``python -m simulator`` runs the ``hetsim`` command line."""

import sys

from simulator.cli import main

sys.exit(main())
