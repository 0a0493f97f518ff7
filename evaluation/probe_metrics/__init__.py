"""Metrics of a neuron label over the whole probe set (plain numpy, no Django).

Definitions follow the reference note on evaluation beyond top activations: A = the top
alpha fraction of images by activation (ties at the cut-off included), C = {c >= 0.5};
recall, precision, F1, IoU, Pearson correlation, cosine and AUPRC per column.
"""

from .average_precision import dense_average_precision, weighted_average_precision
from .bootstrap import ConfidenceInterval, bootstrap_ci, bootstrap_cis
from .cutoff import DEFAULT_ALPHA, activation_cutoffs, concept_mask, top_alpha_mask, top_count
from .dense import ActivationSummary, check_pair, probe_metrics, summarise_activations
from .formulas import METRIC_NAMES, METRIC_RANGE, Metrics
from .sanity import (
    EPSILON,
    PASS_SHARE,
    PUBLISHED_PASS,
    SanityRow,
    extra_labels,
    known_concept_neurons,
    missing_labels,
    run_sanity_tests,
    sampled_sanity_table,
    sanity_table,
)
from .weighted import estimate_probe_metrics

__all__ = [
    "DEFAULT_ALPHA",
    "EPSILON",
    "METRIC_NAMES",
    "METRIC_RANGE",
    "PASS_SHARE",
    "PUBLISHED_PASS",
    "ActivationSummary",
    "ConfidenceInterval",
    "Metrics",
    "SanityRow",
    "activation_cutoffs",
    "bootstrap_ci",
    "bootstrap_cis",
    "check_pair",
    "concept_mask",
    "dense_average_precision",
    "estimate_probe_metrics",
    "extra_labels",
    "known_concept_neurons",
    "missing_labels",
    "probe_metrics",
    "run_sanity_tests",
    "sampled_sanity_table",
    "sanity_table",
    "summarise_activations",
    "top_alpha_mask",
    "top_count",
    "weighted_average_precision",
]
