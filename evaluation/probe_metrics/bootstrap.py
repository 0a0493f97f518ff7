"""Percentile bootstrap over neurons (columns) for the mean of a metric, seeded.

Resampling whole columns keeps each column's own estimation noise (from sampled ratings)
inside the interval, besides the spread between neurons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .formulas import Metrics


@dataclass(frozen=True)
class ConfidenceInterval:
    mean: float
    low: float
    high: float
    n_columns: int


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> ConfidenceInterval:
    """Mean over the finite values and its bootstrap interval (NaN bounds when empty)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return ConfidenceInterval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    tail = (1.0 - level) / 2
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return ConfidenceInterval(float(x.mean()), float(low), float(high), int(x.size))


def bootstrap_cis(metrics: Metrics, **kwargs) -> dict[str, ConfidenceInterval]:
    """One interval per metric, all with the same seed (so the same resamples)."""
    return {name: bootstrap_ci(values, **kwargs) for name, values in metrics.items()}
