"""Post-stratified estimates (A and the rest of D each weighted up to its known size):
a hand-computed case, and a census that gives the dense metrics."""

import numpy as np
import pytest

from evaluation.probe_metrics import (
    METRIC_NAMES,
    estimate_probe_metrics,
    known_concept_neurons,
    probe_metrics,
    summarise_activations,
)


def test_hand_computed_case():
    # 10 images, alpha 0.2: A = the two highest (activations 9 and 8)
    summary = summarise_activations(np.array([[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]], float).T, 0.2)
    # rated: both images of A (probability 1, both show the concept), and two of the other
    # eight with probability 0.5 each: one shows it, one does not
    acts = np.array([[9.0], [8.0], [5.0], [2.0]])
    ratings = np.array([[1.0], [1.0], [1.0], [0.0]])
    inclusion = np.array([[1.0], [1.0], [0.5], [0.5]])
    plain = estimate_probe_metrics(summary, acts, ratings, inclusion)
    strat = estimate_probe_metrics(summary, acts, ratings, inclusion, post_stratify=True)
    # plain: |C| = 1 + 1 + 2 = 4; post-stratified: the two rated outside A stand for all 8,
    # each for 4, so |C| = 2 + 4 = 6
    assert plain["precision"][0] == pytest.approx(2 / 4)
    assert strat["precision"][0] == pytest.approx(2 / 6)
    assert strat["recall"][0] == 1.0
    assert strat["f1"][0] == pytest.approx(2 * 2 / (2 + 6))
    assert strat["iou"][0] == pytest.approx(2 / 6)


def test_a_census_gives_the_dense_metrics():
    acts, concepts = known_concept_neurons(3000, 8, np.random.default_rng(3))
    acts = acts.astype(np.float64)
    summary = summarise_activations(acts, 0.01)
    got = estimate_probe_metrics(summary, acts, concepts, np.ones(acts.shape), post_stratify=True)
    dense = probe_metrics(acts, concepts, 0.01)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(got[name], dense[name], atol=1e-10, err_msg=name)
