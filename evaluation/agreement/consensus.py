"""Human consensus as virtual raters: majority vote and Dawid-Skene.

Dawid-Skene estimates, besides each item's likely true verdict, every annotator's
confusion matrix: how often they say yes when the truth is yes (sensitivity) and no when it is
no (specificity). That is the annotator reliability table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.agreement.dawid_skene import fit_on_patterns
from evaluation.agreement.ratings import MISSING, NO, YES

MAJORITY = "Human majority"
DAWID_SKENE = "Human Dawid-Skene"
REFERENCES = {"dawid_skene": DAWID_SKENE, "majority": MAJORITY}  # option value -> rater name


@dataclass(frozen=True)
class AnnotatorReliability:
    rater: str
    judged: int
    yes_rate: float
    sensitivity: float  # P(says yes | consensus truth yes), Dawid-Skene estimate
    specificity: float  # P(says no | consensus truth no)
    agreement_with_consensus: float  # share of judged items matching the Dawid-Skene verdict
    gold_accuracy: float | None = None
    gold_items: int = 0
    excluded: bool = False


@dataclass
class Consensus:
    majority: np.ndarray  # (n_items,) int8, -1 where no human judged or a tie
    dawid_skene: np.ndarray  # (n_items,) int8
    dawid_skene_p_yes: np.ndarray  # (n_items,) float, nan where no human judged
    reliability: list[AnnotatorReliability]


def majority_vote(votes: np.ndarray) -> np.ndarray:
    """Yes if more humans said yes than no; a tie or no judgment leaves the item missing."""
    n_yes = (votes == YES).sum(axis=1)
    n_no = (votes == NO).sum(axis=1)
    out = np.full(len(votes), MISSING, dtype=np.int8)
    out[n_yes > n_no] = YES
    out[n_no > n_yes] = NO
    return out


def dawid_skene(votes: np.ndarray, raters: list[str], n_iter: int = 100):
    """Fit Dawid-Skene on the human columns; returns (verdicts, P(yes), confusion or None)."""
    judged = (votes != MISSING).any(axis=1)
    p_yes = np.full(len(votes), np.nan)
    verdicts = np.full(len(votes), MISSING, dtype=np.int8)
    if not judged.any():
        return verdicts, p_yes, None
    fit, pattern_of_item = fit_on_patterns(votes[judged], n_iter=n_iter)
    p_yes[judged] = fit.p_true[pattern_of_item, YES]
    verdicts[judged] = np.where(p_yes[judged] >= 0.5, YES, NO)
    return verdicts, p_yes, fit.confusion


def _answer_rate(confusion: np.ndarray | None, index: int | None, said: int, truth: int) -> float:
    """P(rater says `said` | truth is `truth`): sensitivity for (YES, YES), specificity for
    (NO, NO)."""
    if confusion is None or index is None:
        return float("nan")
    return float(confusion[index, truth, said])


def build_consensus(
    votes: np.ndarray,
    raters: list[str],
    gold: dict[str, tuple[float, int]] | None = None,
    excluded: set[str] = frozenset(),
) -> Consensus:
    """Consensus of the human columns `votes`, leaving out `excluded` annotators."""
    keep = [i for i, r in enumerate(raters) if r not in excluded]
    kept_votes, kept_raters = votes[:, keep], [raters[i] for i in keep]
    majority = majority_vote(kept_votes)
    ds, p_yes, confusion = dawid_skene(kept_votes, kept_raters)
    kept = {r: i for i, r in enumerate(kept_raters)}
    reliability = []
    for i, rater in enumerate(raters):
        col = votes[:, i]
        judged = col != MISSING
        both = judged & (ds != MISSING)
        g_acc, g_n = (gold or {}).get(rater, (None, 0))
        reliability.append(
            AnnotatorReliability(
                rater=rater,
                judged=int(judged.sum()),
                yes_rate=float((col[judged] == YES).mean()) if judged.any() else float("nan"),
                sensitivity=_answer_rate(confusion, kept.get(rater), YES, YES),
                specificity=_answer_rate(confusion, kept.get(rater), NO, NO),
                agreement_with_consensus=float((col[both] == ds[both]).mean())
                if both.any()
                else float("nan"),
                gold_accuracy=g_acc,
                gold_items=g_n,
                excluded=rater in excluded,
            )
        )
    return Consensus(majority, ds, p_yes, reliability)
