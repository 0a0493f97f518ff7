"""The missing-labels and extra-labels tests reproduce the published pass/fail column."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.probe_metrics import (
    METRIC_NAMES,
    PUBLISHED_PASS,
    extra_labels,
    missing_labels,
    run_sanity_tests,
    sanity_table,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pass_column_equals_the_published_table(seed):
    rows = run_sanity_tests(seed=seed)
    assert [r.metric for r in rows] == list(METRIC_NAMES)
    got = {r.metric: (r.missing_labels_pass, r.extra_labels_pass) for r in rows}
    assert got == PUBLISHED_PASS
    shares = {r.metric: (r.missing_labels_share, r.extra_labels_share) for r in rows}
    assert shares["recall"][1] == 0.0  # adding labels never lowers recall
    assert 0.2 < shares["precision"][0] < 0.7  # halving C leaves precision a coin toss


def test_missing_labels_drops_about_half_of_the_positives_only():
    rng = np.random.default_rng(0)
    concepts = (rng.random((20000, 4)) < 0.1).astype(np.float32)
    dropped = missing_labels(concepts, np.random.default_rng(1))
    assert dropped.dtype == concepts.dtype
    assert np.all(dropped <= concepts)  # no new positives, negatives untouched
    kept = dropped.sum(axis=0) / concepts.sum(axis=0)
    assert np.all(np.abs(kept - 0.5) < 0.05)


def test_extra_labels_doubles_the_positives_in_expectation():
    rng = np.random.default_rng(0)
    concepts = (rng.random((20000, 4)) < np.array([0.02, 0.05, 0.1, 0.3])).astype(np.float32)
    more = extra_labels(concepts, np.random.default_rng(1))
    assert np.all(more >= concepts)  # every positive stays
    ratio = more.sum(axis=0) / concepts.sum(axis=0)
    assert np.all(np.abs(ratio - 2) < 0.1)


def test_unrelated_concepts_fail_the_missing_labels_test():
    """The table is computed, not looked up: concepts unrelated to the neurons give scores
    near zero whose changes are noise, so the label-sensitive metrics no longer pass."""
    rng = np.random.default_rng(5)
    activations = rng.standard_normal((5000, 60)).astype(np.float32)
    concepts = (rng.random((5000, 60)) < 0.01).astype(np.float32)
    rows = {r.metric: r for r in sanity_table(activations, concepts, alpha=0.01, seed=1)}
    assert not rows["recall"].missing_labels_pass  # recall is mostly 0 already
    assert not rows["f1"].missing_labels_pass
