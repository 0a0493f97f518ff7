"""From image verdicts to a verdict on the neuron's label.

The reference criterion: a label is correct if ANY of its top-k images matches it. "majority"
(more than half) and "all" are stricter options. Each rater's neuron verdict uses the images
that rater judged yes or no; a rater who judged none of them has no verdict on the neuron.
"""

from __future__ import annotations

import numpy as np

from evaluation.agreement.pairwise import group_sums
from evaluation.agreement.ratings import MISSING, NO, YES

RULES = ("any", "majority", "all")


def check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"neuron rule must be one of {', '.join(RULES)}, not {rule!r}")


def neuron_votes(
    votes: np.ndarray, item_neuron: np.ndarray, n_neurons: int, rule: str
) -> np.ndarray:
    """(n_neurons, n_raters) int8 neuron verdicts: 1 yes, 0 no, -1 missing."""
    check_rule(rule)
    n_yes = group_sums((votes == YES).astype(np.float32), item_neuron, n_neurons)
    n_rated = group_sums((votes != MISSING).astype(np.float32), item_neuron, n_neurons)
    if rule == "any":
        yes = n_yes >= 1
    elif rule == "majority":
        yes = n_yes > n_rated / 2
    else:
        yes = n_yes == n_rated
    out = np.where(yes, YES, NO).astype(np.int8)
    out[n_rated == 0] = MISSING
    return out
