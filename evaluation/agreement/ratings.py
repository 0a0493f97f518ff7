"""The long judgment table turned into one items x raters matrix, built once per report.

Input columns: rater, neuron, layer, item (the rated (neuron, image) pair), verdict, score.
Only "yes" and "no" count; skip, unclear and unparseable are missing, like no judgment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = -1
YES = 1
NO = 0
COLUMNS = ("rater", "neuron", "layer", "item", "verdict", "score")


@dataclass
class Ratings:
    """votes[i, r] is 1 (yes), 0 (no) or -1 (missing) for item i and rater r."""

    raters: list[str]
    items: np.ndarray  # item ids, one per row
    item_neuron: np.ndarray  # index into `neurons` for each item
    neurons: np.ndarray  # neuron ids
    neuron_layer: np.ndarray  # index into `layers` for each neuron
    layers: list[str]
    votes: np.ndarray  # (n_items, n_raters) int8
    scores: np.ndarray  # (n_items, n_raters) float64, nan where missing

    @property
    def n_items(self) -> int:
        return len(self.items)

    def column(self, rater: str) -> int:
        return self.raters.index(rater)

    def with_rater(self, name: str, votes: np.ndarray, scores: np.ndarray | None = None):
        """A copy with one more (virtual) rater column, e.g. a human consensus."""
        col_scores = np.full(self.n_items, np.nan) if scores is None else scores
        return Ratings(
            raters=[*self.raters, name],
            items=self.items,
            item_neuron=self.item_neuron,
            neurons=self.neurons,
            neuron_layer=self.neuron_layer,
            layers=self.layers,
            votes=np.column_stack([self.votes, votes.astype(np.int8)]),
            scores=np.column_stack([self.scores, col_scores]),
        )


def check_long_table(table: pd.DataFrame) -> None:
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"long table lacks column(s): {', '.join(missing)}")


def _ordered_codes(values: pd.Series, order: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Factorize, naming the codes in `order` first and the rest sorted after them.

    Categorical columns (as `evaluation.reports` loads them) are factorized on their codes;
    others are compared as strings.
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(str)
    codes, names = pd.factorize(values, sort=True)
    found = [str(x) for x in names]
    if not order:
        return codes, found
    ordered = [x for x in order if x in found]
    ordered += [x for x in found if x not in ordered]
    remap = np.array([ordered.index(x) for x in found], dtype=np.int64)
    return (remap[codes] if len(codes) else codes), ordered


def build_ratings(
    table: pd.DataFrame, rater_order: list[str] | None = None, layer_order: list[str] | None = None
) -> Ratings:
    """Pivot the long table; a rater judging the same item twice keeps its last row."""
    check_long_table(table)
    rater_codes, raters = _ordered_codes(table["rater"], rater_order)
    item_codes, items = pd.factorize(table["item"], sort=True)
    row_of_item = np.empty(len(items), dtype=np.int64)  # one row that names each item
    row_of_item[item_codes] = np.arange(len(table))
    item_neuron_ids = table["neuron"].to_numpy()[row_of_item]
    neuron_codes, neurons = pd.factorize(item_neuron_ids, sort=True)
    row_of_neuron = np.empty(len(neurons), dtype=np.int64)
    row_of_neuron[neuron_codes] = row_of_item
    layer_codes, layers = _ordered_codes(
        table["layer"].iloc[row_of_neuron].reset_index(drop=True), layer_order
    )

    verdict = table["verdict"]
    codes = np.full(len(table), MISSING, dtype=np.int8)
    codes[(verdict == "yes").to_numpy()] = YES
    codes[(verdict == "no").to_numpy()] = NO
    votes = np.full((len(items), len(raters)), MISSING, dtype=np.int8)
    votes[item_codes, rater_codes] = codes
    scores = np.full((len(items), len(raters)), np.nan)
    scores[item_codes, rater_codes] = pd.to_numeric(table["score"]).to_numpy(dtype=float)
    return Ratings(
        raters=raters,
        items=np.asarray(items, dtype=np.int64),
        item_neuron=np.asarray(neuron_codes, dtype=np.int64),
        neurons=np.asarray(neurons, dtype=np.int64),
        neuron_layer=np.asarray(layer_codes, dtype=np.int64),
        layers=layers,
        votes=votes,
        scores=scores,
    )
