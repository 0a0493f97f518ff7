"""Label sets compared on the same units: each set's share of labels judged correct, and for
each pair of sets the paired difference on the units both labelled.

A study's label sets label the same (layer, unit)s, each label its own neuron. For one rater,
a unit is paired when the rater gave a neuron verdict on both sets' labels of it; the paired
difference and McNemar's exact test use those units only. Bootstrap intervals resample units
within their layer, as every other interval of the report does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar

from evaluation.agreement.by_reference import YesRateRow, yes_rates
from evaluation.agreement.pairwise import nan_percentiles, resample_sums
from evaluation.agreement.ratings import MISSING, NO, YES

OVERALL = "Overall"


@dataclass(frozen=True)
class LabelSetShares:
    """One label set's share of labels judged correct, per rater, per layer and overall."""

    name: str
    neurons: int
    shares: list[YesRateRow]


@dataclass(frozen=True)
class PairedDifference:
    """first's share minus second's on the units one rater judged in both label sets."""

    first: str
    second: str
    rater: str
    layer: str  # a layer name, or "Overall"
    n: int  # paired units
    first_share: float
    second_share: float
    difference: float
    ci: tuple[float, float]  # 95% percentile bootstrap interval of the difference
    both_yes: int
    first_only: int  # first's label judged correct, second's not
    second_only: int
    both_no: int
    mcnemar_p: float  # exact (binomial) McNemar test on first_only vs second_only


@dataclass(frozen=True)
class NeuronSets:
    """Which label set, layer and unit each neuron (a row of the neuron votes) belongs to."""

    label_set: np.ndarray  # index into `names`
    layer: np.ndarray  # index into `layers`
    unit: np.ndarray
    names: list[str]
    layers: list[str]


def label_set_shares(
    votes: np.ndarray, raters: list[str], sets: NeuronSets, n_boot: int, seed: int
) -> list[LabelSetShares]:
    """Every label set's share of "yes" neuron verdicts (`votes`: neurons x raters)."""
    out = []
    for code, name in enumerate(sets.names):
        rows = np.flatnonzero(sets.label_set == code)
        if not len(rows):
            continue
        shares = yes_rates(
            votes[rows], raters, np.arange(len(rows)), sets.layer[rows], sets.layers, n_boot, seed
        )
        out.append(LabelSetShares(name, int(len(rows)), shares))
    return out


def paired_units(sets: NeuronSets, first: int, second: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the neurons of label sets `first` and `second` with the same layer and unit."""
    keys = sets.layer.astype(np.int64) * (int(sets.unit.max(initial=0)) + 1) + sets.unit
    rows_a = np.flatnonzero(sets.label_set == first)
    rows_b = np.flatnonzero(sets.label_set == second)
    _, at_a, at_b = np.intersect1d(keys[rows_a], keys[rows_b], return_indices=True)
    return rows_a[at_a], rows_b[at_b]


def paired_differences(
    votes: np.ndarray, raters: list[str], sets: NeuronSets, n_boot: int, seed: int
) -> list[PairedDifference]:
    """For each pair of label sets (in `sets.names` order) and each rater, per layer and
    overall: the paired difference of shares, its bootstrap interval and McNemar's p."""
    out = []
    for i in range(len(sets.names)):
        for j in range(i + 1, len(sets.names)):
            rows_a, rows_b = paired_units(sets, i, j)
            if len(rows_a):
                out += _pair_of_sets(
                    votes[rows_a], votes[rows_b], sets.layer[rows_a], (i, j), raters, sets,
                    n_boot, seed,
                )  # fmt: skip
    return out


def _pair_of_sets(a, b, unit_layer, pair, raters, sets, n_boot, seed) -> list[PairedDifference]:
    judged = (a != MISSING) & (b != MISSING)
    cells = [judged & (a == x) & (b == y) for x, y in ((YES, YES), (YES, NO), (NO, YES), (NO, NO))]
    counts = np.stack(cells, axis=-1).astype(np.float64)  # units x raters x 4
    # Per unit and rater: first yes minus second yes (both-yes cancels), and whether paired.
    values = np.hstack([cells[1].astype(float) - cells[2], judged]).astype(float)
    names = (sets.names[pair[0]], sets.names[pair[1]])
    rows, total = [], np.zeros((max(n_boot, 0), values.shape[1]))
    for code, layer in enumerate(sets.layers):
        mask = unit_layer == code
        if not mask.any():
            continue
        sums = resample_sums(values[mask], n_boot, seed + code) if n_boot > 0 else None
        if sums is not None:
            total += sums
        rows += _rows(names, raters, layer, counts[mask].sum(axis=0), sums)
    return rows + _rows(names, raters, OVERALL, counts.sum(axis=0), total if n_boot > 0 else None)


def _rows(names, raters, layer, counts, sums) -> list[PairedDifference]:
    k = len(raters)
    lo = hi = np.full(k, np.nan)
    if sums is not None:
        with np.errstate(all="ignore"):
            boot = sums[:, :k].astype(np.float64) / sums[:, k:]
        lo, hi = np.moveaxis(nan_percentiles(boot, (0.025, 0.975)), -1, 0)
    rows = []
    for r, rater in enumerate(raters):
        both_yes, first_only, second_only, both_no = (int(x) for x in counts[r])
        n = both_yes + first_only + second_only + both_no
        if n == 0:
            continue
        table = [[both_yes, first_only], [second_only, both_no]]
        rows.append(
            PairedDifference(
                first=names[0],
                second=names[1],
                rater=rater,
                layer=layer,
                n=n,
                first_share=(both_yes + first_only) / n,
                second_share=(both_yes + second_only) / n,
                difference=(first_only - second_only) / n,
                ci=(float(lo[r]), float(hi[r])),
                both_yes=both_yes,
                first_only=first_only,
                second_only=second_only,
                both_no=both_no,
                mcnemar_p=float(mcnemar(table, exact=True).pvalue),
            )
        )
    return rows


def neuron_sets(table, neurons: np.ndarray, layer: np.ndarray, layers: list[str]) -> NeuronSets:
    """NeuronSets for `neurons` (sorted ids) from the long table's neuron, label_set
    (categorical) and unit columns; `layer` is each neuron's layer index."""
    at = np.searchsorted(neurons, table["neuron"].to_numpy())
    label_set = np.zeros(len(neurons), dtype=np.int64)
    unit = np.zeros(len(neurons), dtype=np.int64)
    label_set[at] = table["label_set"].cat.codes.to_numpy()
    unit[at] = table["unit"].to_numpy()
    names = [str(c) for c in table["label_set"].cat.categories]
    return NeuronSets(label_set, np.asarray(layer), unit, names, layers)


def compare_label_sets(
    table, neurons: np.ndarray, votes: np.ndarray, raters: list[str], layer, layers, n_boot, seed
) -> tuple[list[LabelSetShares], list[PairedDifference]]:
    """Both figures from the real neurons' long table (with label_set and unit columns) and
    their neuron votes; nothing when the table does not say the label sets."""
    if not {"label_set", "unit"} <= set(table.columns):
        return [], []
    sets = neuron_sets(table, neurons, layer, layers)
    return (
        label_set_shares(votes, raters, sets, n_boot, seed),
        paired_differences(votes, raters, sets, n_boot, seed),
    )
