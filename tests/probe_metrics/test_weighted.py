"""Inclusion-weighted estimates from sampled ratings: a census reproduces the dense values,
and over many samplings the estimates centre on the dense truth."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.probe_metrics import (
    METRIC_NAMES,
    estimate_probe_metrics,
    known_concept_neurons,
    probe_metrics,
    summarise_activations,
)

from .sampling import draw, inclusion_probabilities

ALPHA = 0.01


@pytest.fixture(scope="module")
def probe():
    rng = np.random.default_rng(7)
    activations, concepts = known_concept_neurons(4000, 12, rng)
    # soft, partly wrong ratings so that correlation, cosine and AUPRC see graded scores
    concepts = np.clip(concepts * 0.8 + rng.random(concepts.shape) * 0.3, 0, 1)
    return activations.astype(np.float64), concepts


def test_a_census_reproduces_the_dense_metrics(probe):
    activations, concepts = probe
    summary = summarise_activations(activations, ALPHA)
    got = estimate_probe_metrics(summary, activations, concepts, np.ones(concepts.shape))
    dense = probe_metrics(activations, concepts, ALPHA)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(got[name], dense[name], atol=1e-10, err_msg=name)


def test_padding_slots_are_ignored(probe):
    activations, concepts = probe
    summary = summarise_activations(activations, ALPHA)
    ones = np.ones(concepts.shape)
    padded = [
        np.vstack([x, np.full((5, x.shape[1]), fill)])
        for x, fill in ((activations, np.nan), (concepts, np.nan), (ones, 0.0))
    ]
    got = estimate_probe_metrics(summary, *padded)
    want = estimate_probe_metrics(summary, activations, concepts, ones)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(got[name], want[name], atol=1e-12, err_msg=name)


def _sampled_runs(probe, p_rest: float, n_runs: int, seed: int = 11):
    activations, concepts = probe
    summary = summarise_activations(activations, ALPHA)
    probabilities = inclusion_probabilities(activations, 0.02, p_top=0.6, p_rest=p_rest)
    rng = np.random.default_rng(seed)
    runs = {name: [] for name in METRIC_NAMES}
    for _ in range(n_runs):
        got = estimate_probe_metrics(summary, *draw(activations, concepts, probabilities, rng))
        for name in METRIC_NAMES:
            runs[name].append(got[name])
    return {name: np.array(values) for name, values in runs.items()}


# recall is unbiased (HT count over a known abs(A)); the others are ratio estimators, allowed
# a small bias on ~800 rated images per neuron, AUPRC (a ratio per positive) the most
RATIO_BIAS = {"recall": 0.0, "auprc": 0.03}


def test_estimates_centre_on_the_dense_truth(probe):
    truth = probe_metrics(*probe, ALPHA)
    runs = _sampled_runs(probe, p_rest=0.2, n_runs=300)
    for name in METRIC_NAMES:
        values = runs[name]
        error = np.abs(values.mean(axis=0) - truth[name])
        standard_error = values.std(axis=0) / np.sqrt(len(values))
        assert values.std(axis=0).max() > 0, f"{name}: the design must leave some noise"
        bias = RATIO_BIAS.get(name, 0.01)
        assert np.all(error < 4 * standard_error + bias + 1e-9), (name, error, standard_error)


def test_auprc_bias_shrinks_as_the_sample_grows(probe):
    truth = probe_metrics(*probe, ALPHA)["auprc"]
    small = _sampled_runs(probe, p_rest=0.05, n_runs=150)["auprc"].mean(axis=0)
    large = _sampled_runs(probe, p_rest=0.4, n_runs=150)["auprc"].mean(axis=0)
    assert np.abs(large - truth).mean() < 0.5 * np.abs(small - truth).mean()


def test_bad_inclusion_probabilities_are_refused(probe):
    activations, concepts = probe
    summary = summarise_activations(activations, ALPHA)
    for bad in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="inclusion"):
            estimate_probe_metrics(summary, activations, concepts, np.full(concepts.shape, bad))
    with pytest.raises(ValueError, match="shape"):
        estimate_probe_metrics(summary, activations, concepts[:, :3], np.ones(concepts.shape))
