"""Yes/no raters and rating raters side by side, one verdict per label; no Django.

A label is one Neuron row (one label set's label for one unit). A yes/no rater's verdict on
it is the neuron rule (any / majority / all) over the images of that label it judged yes or
no; a rating rater's is its rating of that label binarised (rating >= threshold is yes). The
two are joined on the neuron id, so every pair of raters is compared on the labels both
gave a verdict on, with the pairwise maths of the heatmap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.agreement.neuron_level import neuron_votes
from evaluation.agreement.ordinal import binarise
from evaluation.agreement.ratings import MISSING, build_ratings


@dataclass(frozen=True)
class LabelVotes:
    """votes[i, r]: 1 yes, 0 no, -1 missing, for label (neuron id) neurons[i] and rater r."""

    raters: list[str]
    neurons: np.ndarray
    votes: np.ndarray


def rating_name(name: str, taken: set[str], threshold: float) -> str:
    """A rating rater's column name: its own, unless a yes/no rater already has it."""
    return name if name not in taken else f"{name} (rating ≥ {threshold:g})"


def label_votes(
    judgments: pd.DataFrame,
    ratings: pd.DataFrame,
    rule: str,
    threshold: float,
    rater_order: list[str] | None = None,
) -> LabelVotes:
    """`judgments`: the long yes/no table (rater, neuron, layer, item, verdict, score) of real
    neurons; `ratings`: the rating table (`ordinal.RATING_COLUMNS`). Yes/no raters come
    first, in `rater_order`, then rating raters by name."""
    columns: list[tuple[str, np.ndarray, np.ndarray]] = []  # (rater, neuron ids, votes)
    if len(judgments):
        pairs = build_ratings(judgments, rater_order=rater_order)
        by_neuron = neuron_votes(pairs.votes, pairs.item_neuron, len(pairs.neurons), rule)
        columns += [(r, pairs.neurons, by_neuron[:, i]) for i, r in enumerate(pairs.raters)]
    taken = {c[0] for c in columns}
    binary = binarise(ratings, threshold)
    if len(binary):
        rated = build_ratings(binary)  # the item is the neuron: one row per label
        columns += [
            (rating_name(r, taken, threshold), rated.neurons, rated.votes[:, i])
            for i, r in enumerate(rated.raters)
        ]
    neurons = np.unique(np.concatenate([c[1] for c in columns])) if columns else np.empty(0)
    votes = np.full((len(neurons), len(columns)), MISSING, dtype=np.int8)
    for col, (_, ids, values) in enumerate(columns):
        votes[np.searchsorted(neurons, ids), col] = values
    return LabelVotes([c[0] for c in columns], neurons.astype(np.int64), votes)
