"""Which neurons the raters disagree on most."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.agreement.pairwise import group_sums
from evaluation.agreement.ratings import MISSING, YES


@dataclass(frozen=True)
class NeuronDisagreement:
    neuron: int
    layer: str
    score: float  # mean over the neuron's images of 2 min(p, 1 - p), p = share of yes
    items: int
    raters: int


def item_disagreement(votes: np.ndarray) -> np.ndarray:
    """0 when all raters of an item agree, 1 at an even split; nan with fewer than two."""
    n = (votes != MISSING).sum(axis=1)
    p = np.divide((votes == YES).sum(axis=1), n, out=np.zeros(len(n)), where=n > 0)
    return np.where(n >= 2, 2 * np.minimum(p, 1 - p), np.nan)


def most_disputed(
    votes: np.ndarray,
    item_neuron: np.ndarray,
    neurons: np.ndarray,
    neuron_layer: np.ndarray,
    layers: list[str],
    limit: int = 50,
) -> list[NeuronDisagreement]:
    per_item = item_disagreement(votes)
    valid = ~np.isnan(per_item)
    sums = group_sums(np.where(valid, per_item, 0.0)[:, None], item_neuron, len(neurons))[:, 0]
    counts = group_sums(valid[:, None].astype(float), item_neuron, len(neurons))[:, 0]
    score = np.divide(sums, counts, out=np.full(len(neurons), np.nan), where=counts > 0)
    raters = group_sums((votes != MISSING).astype(float), item_neuron, len(neurons)) > 0
    ranked = np.argsort(-np.nan_to_num(score, nan=-1.0), kind="stable")[:limit]
    return [
        NeuronDisagreement(
            neuron=int(neurons[i]),
            layer=layers[neuron_layer[i]],
            score=float(score[i]),
            items=int(counts[i]),
            raters=int(raters[i].sum()),
        )
        for i in ranked
        if counts[i] > 0 and score[i] > 0
    ]
