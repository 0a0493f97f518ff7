"""Agreement of many raters at once: Fleiss' kappa and Krippendorff's alpha (nominal)."""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np
from statsmodels.stats.inter_rater import fleiss_kappa

from evaluation.agreement.ratings import MISSING


@dataclass(frozen=True)
class MultiRaterAgreement:
    raters: list[str]
    fleiss_kappa: float
    fleiss_items: int  # items judged by every rater (Fleiss needs the same count per item)
    krippendorff_alpha: float
    alpha_items: int  # items with at least two judgments (pairable values)


def fleiss(votes: np.ndarray) -> tuple[float, int]:
    """Fleiss' kappa over the items every rater judged; votes are category codes, -1 missing."""
    complete = votes[(votes != MISSING).all(axis=1)]
    if len(complete) == 0 or votes.shape[1] < 2:
        return float("nan"), 0
    categories = np.unique(complete)
    counts = np.stack([(complete == c).sum(axis=1) for c in categories], axis=1)
    if counts.shape[1] < 2:
        return (1.0 if len(complete) else float("nan")), len(complete)
    return float(fleiss_kappa(counts, method="fleiss")), len(complete)


def krippendorff_nominal(votes: np.ndarray) -> tuple[float, int]:
    """Krippendorff's alpha, nominal; items with fewer than two judgments carry no information."""
    pairable = (votes != MISSING).sum(axis=1) >= 2
    data = votes[pairable].T.astype(float)
    data[data == MISSING] = np.nan
    if data.size == 0 or len(np.unique(data[~np.isnan(data)])) < 2:
        return float("nan"), int(pairable.sum())
    return float(krippendorff.alpha(data, level_of_measurement="nominal")), int(pairable.sum())


def multi_rater_agreement(votes: np.ndarray, raters: list[str]) -> MultiRaterAgreement:
    fk, fk_items = fleiss(votes)
    alpha, alpha_items = krippendorff_nominal(votes)
    return MultiRaterAgreement(list(raters), fk, fk_items, alpha, alpha_items)
