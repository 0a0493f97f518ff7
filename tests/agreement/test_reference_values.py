"""Agreement measures against published worked examples and against scikit-learn/statsmodels,
through the functions the report itself calls (`agreement_figures` calls
`pairwise_overall_and_by_group` and `multi_rater_agreement`)."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

from evaluation.agreement.multi import multi_rater_agreement
from evaluation.agreement.neuron_level import neuron_votes
from evaluation.agreement.pairwise import metrics_from_counts
from tests.helpers import pairwise_over_one_group as pairwise_agreement

M = -1  # missing


def fleiss(votes):
    """Fleiss' kappa and its items, as the report's multi-rater table has them."""
    result = multi_rater_agreement(votes, [f"r{i}" for i in range(votes.shape[1])])
    return result.fleiss_kappa, result.fleiss_items


def krippendorff_nominal(votes):
    result = multi_rater_agreement(votes, [f"r{i}" for i in range(votes.shape[1])])
    return result.krippendorff_alpha, result.alpha_items


def votes_from_counts(counts):
    """One row per subject, one column per rater slot, filled with category codes."""
    return np.array([np.repeat(np.arange(len(row)), row) for row in counts])


def test_fleiss_1971_worked_example():
    # Fleiss (1971) / Wikipedia "Fleiss' kappa": 10 subjects, 14 raters, 5 categories.
    counts = [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]  # fmt: skip
    kappa, items = fleiss(votes_from_counts(counts))
    assert items == 10
    assert kappa == pytest.approx(0.210, abs=0.0005)


def test_krippendorff_reliability_data_example():
    # Krippendorff (2011) "Computing Krippendorff's alpha-reliability": 4 coders, 12 units.
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, M, M, M],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, M, 3],
            [M, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, M],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, M],
        ]
    ).T  # items x coders
    alpha, items = krippendorff_nominal(data)
    assert alpha == pytest.approx(0.743, abs=0.0005)
    assert items == 11  # unit 12 has a single value and is not pairable


def test_cohen_kappa_wikipedia_example():
    # 50 proposals: 20 yes/yes, 15 no/no, A yes B no 5, A no B yes 10 -> kappa 0.4.
    m = metrics_from_counts(20, 5, 10, 15)
    assert m["percent"] == pytest.approx(0.7)
    assert m["kappa"] == pytest.approx(0.4)


def test_pabak_ac1_iou_and_specific_agreement_by_hand():
    # Gwet (2008)-style high-prevalence table: a=118, b=5, c=2, d=0 (n=125).
    m = metrics_from_counts(118, 5, 2, 0)
    po = 118 / 125
    assert m["pabak"] == pytest.approx(2 * po - 1)  # 0.888
    pi = ((123 / 125) + (120 / 125)) / 2
    assert m["ac1"] == pytest.approx((po - 2 * pi * (1 - pi)) / (1 - 2 * pi * (1 - pi)))
    assert m["ac1"] == pytest.approx(0.9408, abs=0.0001)
    # p_e = 0.984 * 0.96 + 0.016 * 0.04 = 0.94528: kappa = (0.944 - 0.94528) / 0.05472
    assert m["kappa"] == pytest.approx(-0.02339, abs=0.00001)  # kappa collapses
    assert m["iou"] == pytest.approx(118 / 125)
    assert m["positive"] == pytest.approx(236 / 243)
    assert m["negative"] == pytest.approx(0.0)


def test_iou_counts_only_items_both_raters_judged():
    first = [1, 1, 0, 1, M, 0]
    second = [1, 0, 0, 1, 1, M]
    # Common items 0..3: A = {0, 1, 3}, B = {0, 3}: IoU = 2 / 3.
    votes = np.array([first, second]).T
    [pair] = pairwise_agreement(votes, ["a", "b"], np.arange(6), 6, n_boot=0)
    assert (pair.n, pair.a, pair.b, pair.c, pair.d) == (4, 2, 1, 0, 1)
    assert pair.iou == pytest.approx(2 / 3)
    assert pair.percent == pytest.approx(3 / 4)


def test_neuron_any_majority_all_by_hand():
    # Two neurons of three images; one rater. Neuron 0: yes, no, no. Neuron 1: yes, yes, missing.
    votes = np.array([[1], [0], [0], [1], [1], [M]])
    neurons = np.array([0, 0, 0, 1, 1, 1])
    assert neuron_votes(votes, neurons, 2, "any")[:, 0].tolist() == [1, 1]
    assert neuron_votes(votes, neurons, 2, "majority")[:, 0].tolist() == [0, 1]
    assert neuron_votes(votes, neurons, 2, "all")[:, 0].tolist() == [0, 1]
    unrated = neuron_votes(np.array([[M], [M]]), np.array([0, 0]), 1, "any")
    assert unrated[0, 0] == M


def test_unknown_neuron_rule_is_refused():
    with pytest.raises(ValueError, match="any, majority, all"):
        neuron_votes(np.zeros((1, 1)), np.zeros(1, dtype=int), 1, "some")


def test_pairwise_matches_sklearn_and_statsmodels_on_random_data():
    rng = np.random.default_rng(7)
    votes = (rng.random((400, 4)) < [0.3, 0.5, 0.7, 0.6]).astype(np.int8)
    votes[rng.random((400, 4)) < 0.1] = M
    pairs = pairwise_agreement(votes, list("abcd"), np.arange(400) // 5, 80, n_boot=0)
    assert len(pairs) == 6
    for p in pairs:
        i, j = "abcd".index(p.first), "abcd".index(p.second)
        both = (votes[:, i] != M) & (votes[:, j] != M)
        assert p.n == both.sum()
        assert p.kappa == pytest.approx(cohen_kappa_score(votes[both, i], votes[both, j]))
        table = np.array([[p.d, p.c], [p.b, p.a]])
        assert p.kappa == pytest.approx(cohens_kappa(table, return_results=False))


def test_fleiss_matches_statsmodels_on_random_data():
    rng = np.random.default_rng(3)
    votes = (rng.random((200, 5)) < 0.6).astype(np.int8)
    table = np.column_stack([(votes == 0).sum(1), (votes == 1).sum(1)])
    assert fleiss(votes)[0] == pytest.approx(fleiss_kappa(table))


def test_bootstrap_interval_is_seeded_and_covers_the_estimate():
    rng = np.random.default_rng(5)
    truth = rng.random(1000) < 0.5
    votes = np.column_stack([truth, np.where(rng.random(1000) < 0.8, truth, ~truth)]).astype(
        np.int8
    )
    units = np.arange(1000) // 5
    [p] = pairwise_agreement(votes, ["a", "b"], units, 200, n_boot=300, seed=1)
    [again] = pairwise_agreement(votes, ["a", "b"], units, 200, n_boot=300, seed=1)
    low, high = p.ci["kappa"]
    assert low < p.kappa < high
    assert 0.02 < high - low < 0.3
    assert again.ci == p.ci


def test_large_bootstraps_are_drawn_in_blocks_with_the_same_distribution(monkeypatch):
    from evaluation.agreement import pairwise

    values = np.random.default_rng(0).random((300, 3))
    cached = pairwise.resample_sums(values, 400, seed=2)
    monkeypatch.setattr(pairwise, "CACHED_CELLS", 1000)  # forces blocks of 3 resamples
    blocked = pairwise.resample_sums(values, 400, seed=2)
    assert blocked.shape == cached.shape == (400, 3)
    # every resample draws 300 rows: its weights sum to 300 whichever way it was made
    ones = pairwise.resample_sums(np.ones((300, 1)), 400, seed=2)
    assert (ones == 300).all()
    assert np.allclose(blocked.mean(axis=0), values.sum(axis=0), rtol=0.02)
    assert np.allclose(cached.mean(axis=0), values.sum(axis=0), rtol=0.02)


def test_krippendorff_is_undefined_without_two_values_or_pairable_items():
    assert np.isnan(krippendorff_nominal(np.array([[1, 1], [1, M]]))[0])
    alpha, items = krippendorff_nominal(np.array([[0, M], [M, 1], [M, M]]))
    assert np.isnan(alpha) and items == 0


def test_fleiss_is_undefined_when_only_one_category_occurs():
    kappa, items = fleiss(np.ones((5, 3), dtype=np.int8))
    assert np.isnan(kappa) and items == 5  # was 1.0 while kappa, IoU and alpha were undefined
    assert np.isnan(krippendorff_nominal(np.ones((5, 3), dtype=np.int8))[0])
