"""Label sets compared on the same units: shares, paired differences, McNemar's exact p."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.contingency_tables import mcnemar

from evaluation.agreement.label_set_comparison import (
    NeuronSets,
    label_set_shares,
    paired_differences,
)

M = -1  # missing


def tiny() -> tuple[np.ndarray, NeuronSets]:
    """Label set A labels units 0-3 of layer L; B labels units 0-4. Raters r and s.

    r: A says yes, yes, yes, no; B says yes, no, no, no (and yes on unit 4, unpaired).
    s: judged unit 0 in A only, units 1-3 in both: A no, yes, yes; B no, no, yes.
    """
    votes = np.array(
        [  # r, s
            [1, 1], [1, 0], [1, 1], [0, 1],  # A, units 0-3
            [1, M], [0, 0], [0, 0], [0, 1], [1, 1],  # B, units 0-4
        ],
        dtype=np.int8,
    )  # fmt: skip
    sets = NeuronSets(
        label_set=np.array([0] * 4 + [1] * 5),
        layer=np.zeros(9, dtype=np.int64),
        unit=np.array([0, 1, 2, 3, 0, 1, 2, 3, 4]),
        names=["A", "B"],
        layers=["L"],
    )
    return votes, sets


def test_each_label_set_share_counts_its_own_neurons():
    votes, sets = tiny()
    shares = label_set_shares(votes, ["r", "s"], sets, n_boot=0, seed=0)
    assert [(s.name, s.neurons) for s in shares] == [("A", 4), ("B", 5)]
    got = {(s.name, r.rater, r.layer): (r.n, r.rate) for s in shares for r in s.shares}
    assert got[("A", "r", "Overall")] == (4, 0.75)
    assert got[("B", "r", "Overall")] == (5, 0.4)
    assert got[("A", "s", "L")] == (4, 0.75)
    assert got[("B", "s", "L")] == (4, 0.5)  # unit 0 not judged


def test_paired_difference_by_hand():
    votes, sets = tiny()
    rows = paired_differences(votes, ["r", "s"], sets, n_boot=0, seed=0)
    got = {(d.rater, d.layer): d for d in rows}
    r = got[("r", "Overall")]
    assert (r.first, r.second, r.n) == ("A", "B", 4)  # unit 4 has no label in A
    assert (r.both_yes, r.first_only, r.second_only, r.both_no) == (1, 2, 0, 1)
    assert (r.first_share, r.second_share, r.difference) == (0.75, 0.25, 0.5)
    assert r.mcnemar_p == pytest.approx(0.5)  # 2 discordant, both one way: 2 * 0.5**2
    s = got[("s", "Overall")]
    assert s.n == 3  # unit 0: s judged A's label only
    assert (s.both_yes, s.first_only, s.second_only, s.both_no) == (1, 1, 0, 1)
    assert s.difference == pytest.approx(1 / 3)
    assert s.mcnemar_p == 1.0
    assert np.isnan(r.ci[0])  # no resamples, no interval


def test_mcnemar_p_is_statsmodels_exact_test():
    rng = np.random.default_rng(3)
    n = 60
    a = (rng.random(n) < 0.7).astype(np.int8)
    b = np.where(rng.random(n) < 0.3, 1 - a, a).astype(np.int8)
    votes = np.concatenate([a, b])[:, None]
    sets = NeuronSets(
        np.repeat([0, 1], n), np.zeros(2 * n, dtype=np.int64), np.tile(np.arange(n), 2),
        ["A", "B"], ["L"],
    )  # fmt: skip
    (row, _overall) = paired_differences(votes, ["r"], sets, n_boot=0, seed=0)
    table = [[row.both_yes, row.first_only], [row.second_only, row.both_no]]
    assert row.both_yes == int(((a == 1) & (b == 1)).sum())
    assert row.first_only == int(((a == 1) & (b == 0)).sum())
    assert row.mcnemar_p == mcnemar(table, exact=True).pvalue
    low = min(row.first_only, row.second_only)
    expected = binomtest(low, row.first_only + row.second_only, 0.5).pvalue
    assert row.mcnemar_p == pytest.approx(expected)


def test_bootstrap_interval_resamples_units_within_layer_and_is_seeded():
    votes, sets = tiny()
    first = paired_differences(votes, ["r", "s"], sets, n_boot=400, seed=5)
    again = paired_differences(votes, ["r", "s"], sets, n_boot=400, seed=5)
    r = next(d for d in first if d.rater == "r" and d.layer == "Overall")
    assert [d.ci for d in first] == [d.ci for d in again]
    low, high = r.ci
    # Differences per unit are 0, 1, 1, 0: a resample's mean lies in [0, 1], and the
    # interval holds the estimate without being a single point.
    assert 0 <= low < r.difference < high <= 1
    # Every paired unit agrees for a rater whose labels are all right in both sets.
    same = np.ones((9, 1), dtype=np.int8)
    (layer, overall) = paired_differences(same, ["t"], sets, n_boot=200, seed=0)
    assert overall.ci == (0.0, 0.0) and overall.mcnemar_p == 1.0


def test_three_label_sets_give_every_pair_in_order():
    votes, sets = tiny()
    three = NeuronSets(
        np.concatenate([sets.label_set, [2, 2]]), np.zeros(11, dtype=np.int64),
        np.concatenate([sets.unit, [0, 1]]), ["A", "B", "C"], ["L"],
    )  # fmt: skip
    votes = np.vstack([votes, [[1, 1], [1, 1]]]).astype(np.int8)
    rows = paired_differences(votes, ["r", "s"], three, n_boot=0, seed=0)
    pairs = sorted({(d.first, d.second) for d in rows})
    assert pairs == [("A", "B"), ("A", "C"), ("B", "C")]
    bc = next(d for d in rows if (d.first, d.second, d.rater) == ("B", "C", "r"))
    assert (bc.n, bc.first_share, bc.second_share) == (2, 0.5, 1.0)
