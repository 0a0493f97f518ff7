"""Threshold sweeps for raters with a continuous score, against a reference (human consensus).

Only stored scores are used; no model runs. A score's direction is read from the rater's own
verdicts: if its yes items score lower than its no items (e.g. a rank), the score is negated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evaluation.agreement.pairwise import metrics_from_counts
from evaluation.agreement.ratings import MISSING, NO, YES


@dataclass(frozen=True)
class CalibrationCurve:
    rater: str
    reference: str
    n: int
    higher_means_yes: bool
    roc_auc: float
    best_threshold: float  # the threshold maximising Cohen's kappa with the reference
    best_kappa: float
    best_percent: float
    thresholds: list[float]
    percent: list[float]  # agreement with the reference at each threshold, all layers
    kappa: list[float]
    iou: list[float]
    by_layer: dict[str, list[float]] = field(default_factory=dict)  # layer -> percent curve


def score_direction(scores: np.ndarray, verdicts: np.ndarray) -> bool:
    """True when the rater's yes verdicts carry higher scores than its no verdicts."""
    yes, no = scores[verdicts == YES], scores[verdicts == NO]
    if len(yes) == 0 or len(no) == 0:
        return True
    return bool(np.median(yes) >= np.median(no))


def counts_at_thresholds(
    scores: np.ndarray, truth: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """2x2 counts (a, b, c, d) of `score >= t` against truth, for every threshold at once."""
    order = np.argsort(scores)
    sorted_scores, sorted_truth = scores[order], truth[order]
    below = np.searchsorted(sorted_scores, thresholds, side="left")
    yes_below = np.r_[0, np.cumsum(sorted_truth == YES)][below]
    total_yes = int((truth == YES).sum())
    pred_yes = len(scores) - below
    a = total_yes - yes_below  # predicted yes, truly yes
    b = pred_yes - a
    c = total_yes - a
    d = len(scores) - a - b - c
    return a, b, c, d


def sweep(
    rater: str,
    scores: np.ndarray,
    verdicts: np.ndarray,
    reference: np.ndarray,
    reference_name: str,
    layer_of_item: np.ndarray,
    layers: list[str],
    n_points: int = 41,
) -> CalibrationCurve | None:
    """Sweep `n_points` thresholds over the score range; the best kappa is searched exactly."""
    usable = ~np.isnan(scores) & (reference != MISSING)
    if usable.sum() < 2:
        return None
    higher = score_direction(scores[~np.isnan(scores)], verdicts[~np.isnan(scores)])
    signed = np.where(higher, scores, -scores)[usable]
    truth = reference[usable]
    grid = np.linspace(signed.min(), signed.max(), n_points)
    curve = metrics_from_counts(*counts_at_thresholds(signed, truth, grid))
    exact = np.unique(signed)
    exact_counts = counts_at_thresholds(signed, truth, exact)
    exact_metrics = metrics_from_counts(*exact_counts)
    kappas = np.nan_to_num(exact_metrics["kappa"], nan=-np.inf)
    best = int(np.argmax(kappas))
    auc = roc_auc(*exact_counts)
    by_layer = {}
    layer_codes = layer_of_item[usable]
    for code, name in enumerate(layers):
        mask = layer_codes == code
        if mask.any():
            counts = counts_at_thresholds(signed[mask], truth[mask], grid)
            by_layer[name] = _clean(metrics_from_counts(*counts)["percent"])
    sign = 1.0 if higher else -1.0
    return CalibrationCurve(
        rater=rater,
        reference=reference_name,
        n=int(usable.sum()),
        higher_means_yes=higher,
        roc_auc=auc,
        best_threshold=float(sign * exact[best]),
        best_kappa=float(exact_metrics["kappa"][best]),
        best_percent=float(exact_metrics["percent"][best]),
        thresholds=[float(sign * t) for t in grid],
        percent=_clean(curve["percent"]),
        kappa=_clean(curve["kappa"]),
        iou=_clean(curve["iou"]),
        by_layer=by_layer,
    )


def roc_auc(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> float:
    """Area under the ROC curve from counts at every distinct score, ascending thresholds.

    The trapezoid over all distinct thresholds equals the Mann-Whitney statistic with ties
    counted half, as scikit-learn's roc_auc_score (checked in the tests).
    """
    positives, negatives = a[0] + c[0], b[0] + d[0]
    if positives == 0 or negatives == 0:
        return float("nan")
    tpr = np.r_[a[::-1] / positives, 1.0]
    fpr = np.r_[b[::-1] / negatives, 1.0]
    tpr, fpr = np.r_[0.0, tpr], np.r_[0.0, fpr]
    return float(np.trapezoid(tpr, fpr))


def _clean(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(values, 6)]


def has_scores(scores: np.ndarray, min_share: float = 0.5) -> bool:
    """A rater is calibratable when most of its judgments carry a score with some spread."""
    present = ~np.isnan(scores)
    return bool(present.mean() >= min_share and len(np.unique(scores[present])) > 2)
