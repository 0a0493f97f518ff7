"""The per-unit 2x2 tables against a direct one-hot computation, on random votes."""

import numpy as np

from evaluation.agreement.pairwise import unit_cell_counts, upper_pairs


def one_hot_reference(votes, pairs, units, n_units):
    table = np.zeros((n_units, len(pairs), 4))
    for item, unit in enumerate(units):
        for p, (i, j) in enumerate(pairs):
            first, second = votes[item, i], votes[item, j]
            if first < 0 or second < 0:
                continue
            cell = {(1, 1): 0, (1, 0): 1, (0, 1): 2, (0, 0): 3}[(first, second)]
            table[unit, p, cell] += 1
    return table


def test_counts_match_the_one_hot_tables_with_missing_votes():
    rng = np.random.default_rng(7)
    votes = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(400, 5), p=[0.3, 0.3, 0.4])
    units = rng.integers(0, 60, size=400)
    pairs = upper_pairs(5)
    got = unit_cell_counts(votes, pairs, units, 61)  # unit 60 has no items: all zeros
    np.testing.assert_array_equal(got, one_hot_reference(votes, pairs, units, 61))
    assert got[60].sum() == 0 and got.sum() > 0


def test_hand_table_for_one_pair():
    votes = np.array([[1, 1], [1, 0], [0, 1], [0, 0], [0, 0], [-1, 1]], dtype=np.int8)
    got = unit_cell_counts(votes, [(0, 1)], np.zeros(6, dtype=np.int64), 1)
    assert got.tolist() == [[[1, 1, 1, 2]]]  # a, b, c, d; the missing vote counts nowhere


def test_counts_match_when_a_rater_judged_few_items():
    # A crowd annotator who judged a tenth of the items: the pair is counted over those only.
    rng = np.random.default_rng(8)
    votes = rng.choice(np.array([0, 1], dtype=np.int8), size=(500, 4))
    votes[rng.random(500) < 0.9, 2] = -1
    votes[rng.random(500) < 0.3, 3] = -1
    units = rng.integers(0, 80, size=500)
    pairs = upper_pairs(4)
    got = unit_cell_counts(votes, pairs, units, 80)
    np.testing.assert_array_equal(got, one_hot_reference(votes, pairs, units, 80))
