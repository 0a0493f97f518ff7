"""The seven metrics from per-column totals over the probe set D.

Dense and sampled evaluation differ only in how the totals are obtained (exact sums, or
inclusion-weighted estimates); the formulas below are shared. A degenerate column (no
concept images, or a constant vector) scores 0 rather than NaN so that reports and JSON
stay numeric; the reference implementation clamps its denominators the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METRIC_NAMES = ("recall", "precision", "f1", "iou", "correlation", "cosine", "auprc")
# Range of each score, used to put score changes on one scale in the sanity tests.
METRIC_RANGE = {
    "recall": (0.0, 1.0),
    "precision": (0.0, 1.0),
    "f1": (0.0, 1.0),
    "iou": (0.0, 1.0),
    "correlation": (-1.0, 1.0),
    "cosine": (-1.0, 1.0),
    "auprc": (0.0, 1.0),
}

Metrics = dict[str, np.ndarray]


@dataclass(frozen=True)
class Totals:
    """Per-column sums over D (arrays of shape [n_cols]; n_images is a scalar)."""

    n_images: int
    n_top: np.ndarray  # abs(A)
    n_concept: np.ndarray  # abs(C)
    n_both: np.ndarray  # abs(A ∩ C)
    sum_a: np.ndarray
    sum_a2: np.ndarray
    sum_c: np.ndarray
    sum_c2: np.ndarray
    sum_ac: np.ndarray


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _variance(total: np.ndarray, squares: np.ndarray, n: int) -> np.ndarray:
    """n times the variance; 0 for a constant vector, also when rounding of weighted sums
    leaves a trace (which would turn the correlation into noise)."""
    var = squares - total**2 / n
    return np.where(var > 1e-9 * np.abs(squares), var, 0.0)


def metrics_from_totals(t: Totals) -> Metrics:
    """recall, precision, F1, IoU, correlation and cosine (AUPRC needs the scores' order)."""
    var_a = _variance(t.sum_a, t.sum_a2, t.n_images)
    var_c = _variance(t.sum_c, t.sum_c2, t.n_images)
    cov = t.sum_ac - t.sum_a * t.sum_c / t.n_images
    return {
        "recall": _ratio(t.n_both, t.n_top),
        "precision": _ratio(t.n_both, t.n_concept),
        "f1": _ratio(2 * t.n_both, t.n_top + t.n_concept),
        "iou": _ratio(t.n_both, t.n_top + t.n_concept - t.n_both),
        "correlation": np.clip(_ratio(cov, np.sqrt(var_a * var_c)), -1.0, 1.0),
        "cosine": np.clip(_ratio(t.sum_ac, np.sqrt(t.sum_a2 * t.sum_c2)), -1.0, 1.0),
    }
