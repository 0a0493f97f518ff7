"""Whole-probe metrics estimated from a sample of rated images per column.

Each rated image counts 1 / its inclusion probability (Horvitz-Thompson). The activation
side is known on all of D (`ActivationSummary`), so only sums involving the concept are
estimated:
- unbiased: the confusion counts abs(A ∩ C), abs(C) and the sums of c, c^2, a*c; hence
  recall = est abs(A ∩ C) / abs(A), abs(A) being known exactly;
- ratio (plug-in) estimators, consistent and nearly unbiased for samples of fair size but
  not exactly unbiased: precision, F1, IoU, correlation, cosine, and AUPRC (the weighted
  average precision, i.e. precision at each positive's threshold estimated by weighted
  counts and averaged over the rated positives with their weights). AUPRC has the largest
  small-sample bias, upward: the few concept images far below the top that lower it are
  often not drawn. It shrinks as more images are rated.
The inclusion probabilities must be those of the design that drew the images (e.g. 1 for
the top-k, m / (|D| - k) for a uniform draw from the rest), each image at most once.
"""

from __future__ import annotations

import numpy as np

from .average_precision import weighted_average_precision
from .cutoff import concept_mask
from .dense import ActivationSummary
from .formulas import Metrics, Totals, metrics_from_totals


def check_sample(
    summary: ActivationSummary,
    activations: np.ndarray,
    ratings: np.ndarray,
    inclusion: np.ndarray,
) -> np.ndarray:
    """Validate the aligned [n_rated, n_cols] arrays; return the mask of rated slots."""
    if not (activations.shape == ratings.shape == inclusion.shape) or ratings.ndim != 2:
        raise ValueError(
            "activations, ratings and inclusion must share one 2-D shape, got "
            f"{activations.shape}, {ratings.shape}, {inclusion.shape}"
        )
    if ratings.shape[1] != summary.cutoff.shape[0]:
        raise ValueError(f"{ratings.shape[1]} columns rated, summary has {summary.cutoff.size}")
    rated = ~np.isnan(ratings)
    p = inclusion[rated]
    if not np.all((p > 0) & (p <= 1)):
        raise ValueError("inclusion probabilities of rated images must be in (0, 1]")
    if not np.all(np.isfinite(activations[rated])):
        raise ValueError("rated images need finite activations")
    return rated


def estimate_probe_metrics(
    summary: ActivationSummary,
    activations: np.ndarray,
    ratings: np.ndarray,
    inclusion: np.ndarray,
    post_stratify: bool = False,
) -> Metrics:
    """Estimated metrics per column. Slot [r, j] is the r-th rated image of column j: its
    activation, its rating c in [0, 1] (NaN: no image in this slot, for columns with fewer
    ratings) and the probability it had of being drawn for column j.

    `post_stratify`: the rated images of A, and those outside A, are weighted up to the
    known abs(A) and abs(D) - abs(A) (Hajek ratios within each part). Every estimate is then
    a ratio estimator, with a small bias but far less noise when A's rated images are few:
    a label true of every rated image gets recall exactly 1, and no count overshoots its
    part; a census gives the dense values either way."""
    rated = check_sample(summary, activations, ratings, inclusion)
    w = np.where(rated, 1.0 / np.where(rated, inclusion, 1.0), 0.0)
    return weighted_metrics(summary, activations, ratings, w, post_stratify)


def weighted_metrics(
    summary: ActivationSummary,
    activations: np.ndarray,
    ratings: np.ndarray,
    w: np.ndarray,
    post_stratify: bool = False,
) -> Metrics:
    """The metrics with each slot counting for `w` images of D (0: an empty slot); checked
    input only (`estimate_probe_metrics` checks and weighs by inclusion)."""
    rated = (w > 0) & ~np.isnan(ratings)
    w = np.where(rated, w, 0.0)
    c = np.where(rated, ratings, 0.0)
    a = np.where(rated, activations, 0.0)
    top = rated & (a >= summary.cutoff)
    if post_stratify:
        w = _post_stratified(w, top, summary)
    positive = rated & concept_mask(c)
    totals = Totals(
        n_images=summary.n_images,
        n_top=summary.n_top,
        n_concept=(w * positive).sum(axis=0),
        n_both=(w * (top & positive)).sum(axis=0),
        sum_a=summary.sum_a,
        sum_a2=summary.sum_a2,
        sum_c=(w * c).sum(axis=0),
        sum_c2=(w * c * c).sum(axis=0),
        sum_ac=(w * a * c).sum(axis=0),
    )
    out = metrics_from_totals(totals)
    out["auprc"] = weighted_average_precision(c, top, w)
    return out


def _post_stratified(w: np.ndarray, top: np.ndarray, summary: ActivationSummary) -> np.ndarray:
    """Weights scaled so that A's rated images add up to abs(A), the others' to the rest of D
    (a part with no rated image keeps its weights)."""
    out = w.copy()
    for part, size in ((top, summary.n_top), (~top, summary.n_images - summary.n_top)):
        total = np.where(part, w, 0.0).sum(axis=0)
        scale = np.divide(size, total, out=np.ones_like(total), where=total > 0)
        out = np.where(part, out * scale, out)
    return out
