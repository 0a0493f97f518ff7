"""Whole-probe metrics on dense concept vectors: hand-computed values, ties, degenerate
columns and a brute-force comparison."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from evaluation.probe_metrics import (
    METRIC_NAMES,
    dense_average_precision,
    probe_metrics,
    top_alpha_mask,
    weighted_average_precision,
)

from .brute_force import brute_force_metrics

# a has a tie at the cut-off: alpha 0.4 of 5 images gives k = 2, but a[1] == a[2] == 3,
# so A = {0, 1, 2}. C = {0, 1, 3}; A ∩ C = {0, 1}.
A = np.array([5.0, 3.0, 3.0, 1.0, 0.0])
C = np.array([0.9, 0.6, 0.2, 0.7, 0.1])
HAND = {
    "recall": 2 / 3,
    "precision": 2 / 3,
    "f1": 2 * 2 / (3 + 3),
    "iou": 2 / 4,
    # mean a 2.4, mean c 0.5: cov 7.6 - 6 = 1.6, ss_a 44 - 28.8 = 15.2, ss_c 1.71 - 1.25
    "correlation": 1.6 / np.sqrt(15.2 * 0.46),
    "cosine": 7.6 / np.sqrt(44 * 1.71),
    # c ranks A-images 1st, 3rd and 4th: (1/1 + 2/3 + 3/4) / 3
    "auprc": (1 + 2 / 3 + 3 / 4) / 3,
}


def test_hand_computed_values_with_a_tie_at_the_cutoff():
    got = probe_metrics(A[:, None], C[:, None], alpha=0.4)
    assert top_alpha_mask(A[:, None], 0.4)[:, 0].tolist() == [True, True, True, False, False]
    for name in METRIC_NAMES:
        assert got[name][0] == pytest.approx(HAND[name], abs=1e-12), name
    assert HAND["correlation"] == pytest.approx(0.605089, abs=1e-6)
    assert HAND["auprc"] == pytest.approx(0.805556, abs=1e-6)


def test_concept_of_exactly_one_half_counts_as_present():
    a = np.array([[3.0], [2.0], [1.0], [0.0]])
    c = np.array([[0.5], [0.49], [0.0], [0.0]])
    got = probe_metrics(a, c, alpha=0.5)  # A = {0, 1}, C = {0}
    assert got["recall"][0] == pytest.approx(0.5)
    assert got["precision"][0] == pytest.approx(1.0)


def test_tied_concept_scores_share_one_threshold_in_auprc():
    a = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    c = np.array([[0.0], [0.0], [1.0], [1.0], [1.0]])  # A = {3, 4}, tied with image 2
    assert probe_metrics(a, c, alpha=0.4)["auprc"][0] == pytest.approx(2 / 3)


def test_degenerate_columns_score_zero_not_nan():
    a = np.array([[3.0, 3.0], [2.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    c = np.array([[0.0, 0.2], [0.0, 0.2], [0.0, 0.2], [0.0, 0.2]])
    got = probe_metrics(a, c, alpha=0.25)
    for name in METRIC_NAMES:
        assert np.all(np.isfinite(got[name])), name
    assert got["precision"].tolist() == [0.0, 0.0]
    assert got["correlation"].tolist() == [0.0, 0.0]  # constant concept vector
    assert got["cosine"][0] == 0.0


def _tied_case(seed: int, n: int = 400, cols: int = 13):
    rng = np.random.default_rng(seed)
    activations = np.round(rng.standard_normal((n, cols)), 1)  # many ties, at the cut-off too
    concepts = np.round(rng.random((n, cols)), 1)
    concepts[:, 0] = (rng.random(n) < 0.1).astype(float)  # binary, heavily tied
    return activations, concepts


@pytest.mark.parametrize("alpha", [0.005, 0.05, 0.3])
def test_matches_brute_force_on_a_small_dense_case(alpha):
    activations, concepts = _tied_case(seed=1)
    expected = brute_force_metrics(activations, concepts, alpha)
    got = probe_metrics(activations, concepts, alpha, block_cols=5)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-10, err_msg=name)


def test_float32_input_gives_the_float64_result():
    activations, concepts = _tied_case(seed=2)
    wide = probe_metrics(activations, concepts, 0.05)
    narrow = probe_metrics(activations.astype(np.float32), concepts.astype(np.float32), 0.05)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(narrow[name], wide[name], atol=1e-6, err_msg=name)


def test_weighted_average_precision_equals_sklearn_with_sample_weight():
    rng = np.random.default_rng(3)
    scores = np.round(rng.random((60, 8)), 1)
    targets = rng.random((60, 8)) < 0.3
    weights = rng.choice([0.0, 1.0, 2.5, 10.0], size=(60, 8))
    got = weighted_average_precision(scores, targets, weights)
    for j in range(8):
        keep = weights[:, j] > 0
        want = average_precision_score(
            targets[keep, j], scores[keep, j], sample_weight=weights[keep, j]
        )
        assert got[j] == pytest.approx(want, abs=1e-12)


def test_dense_and_weighted_average_precision_agree_with_unit_weights():
    activations, concepts = _tied_case(seed=4)
    top = top_alpha_mask(activations, 0.05)
    dense = dense_average_precision(np.ascontiguousarray(concepts.T), np.ascontiguousarray(top.T))
    np.testing.assert_allclose(dense, weighted_average_precision(concepts, top), atol=1e-12)


def test_bad_alpha_and_shapes_are_refused():
    a, c = A[:, None], C[:, None]
    for alpha in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            probe_metrics(a, c, alpha)
    with pytest.raises(ValueError, match="shapes differ"):
        probe_metrics(a, np.hstack([c, c]))
    with pytest.raises(ValueError, match="2-D"):
        probe_metrics(A, C)


def test_integer_and_boolean_inputs_are_numbers_and_nan_is_refused():
    activations, concepts = _tied_case(seed=5)
    want = probe_metrics(activations, (concepts >= 0.5).astype(float), 0.05)
    for kind in (bool, np.int64):
        got = probe_metrics(activations, (concepts >= 0.5).astype(kind), 0.05)
        for name in METRIC_NAMES:
            np.testing.assert_allclose(got[name], want[name], atol=1e-12, err_msg=name)
    concepts[3, 7] = np.nan
    with pytest.raises(ValueError, match="column 7"):
        probe_metrics(activations, concepts, 0.05, block_cols=5)
