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
    """Fleiss' kappa over the items every rater judged; votes are category codes, -1 missing.

    Undefined (NaN) when only one category occurs: chance agreement is then 1 and kappa
    0 / 0, as Cohen's kappa, IoU and Krippendorff's alpha are undefined in that case.
    """
    complete = votes[(votes != MISSING).all(axis=1)]
    if len(complete) == 0 or votes.shape[1] < 2:
        return float("nan"), 0
    categories = np.unique(complete)
    if len(categories) < 2:
        return float("nan"), len(complete)
    counts = np.stack([(complete == c).sum(axis=1) for c in categories], axis=1)
    return float(fleiss_kappa(counts, method="fleiss")), len(complete)


def krippendorff_nominal(votes: np.ndarray) -> tuple[float, int]:
    """Krippendorff's alpha, nominal; items with fewer than two judgments carry no information.

    The library is given each item's count of votes per category (value_counts) rather than
    the raters x items matrix, which it would otherwise count itself, slowly.
    """
    pairable = (votes != MISSING).sum(axis=1) >= 2
    votes = votes[pairable]
    categories = np.unique(votes[votes != MISSING])
    if len(categories) < 2:  # no pairable items, or a single value: alpha is undefined
        return float("nan"), int(pairable.sum())
    counts = np.stack([(votes == c).sum(axis=1) for c in categories], axis=-1)
    alpha = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    return float(alpha), int(pairable.sum())


def multi_rater_agreement(votes: np.ndarray, raters: list[str]) -> MultiRaterAgreement:
    fk, fk_items = fleiss(votes)
    alpha, alpha_items = krippendorff_nominal(votes)
    return MultiRaterAgreement(list(raters), fk, fk_items, alpha, alpha_items)
