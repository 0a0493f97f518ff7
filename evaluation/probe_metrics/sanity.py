"""The missing-labels and extra-labels sanity tests on a metric.

For neurons whose true concept is known, perturb the concept vector and count the neurons
whose score fell by more than epsilon on the metric's normalised scale (score change
divided by the metric's range). A test passes when that share exceeds PASS_SHARE: the
published table splits there (every pass is >= 93.6 % of neurons, every failure of that
test <= 70.4 %).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .cutoff import DEFAULT_ALPHA, concept_mask
from .dense import ActivationSummary, probe_metrics
from .formulas import METRIC_NAMES, METRIC_RANGE
from .weighted import estimate_probe_metrics

EPSILON = 0.001
PASS_SHARE = 0.9
# The reference paper's verdicts, for comparison in tests and reports (never used to decide).
PUBLISHED_PASS = {
    "recall": (True, False),
    "precision": (False, True),
    "f1": (True, True),
    "iou": (True, True),
    "correlation": (True, True),
    "cosine": (True, True),
    "auprc": (True, True),
}


@dataclass(frozen=True)
class SanityRow:
    metric: str
    missing_labels_pass: bool
    extra_labels_pass: bool
    missing_labels_share: float
    extra_labels_share: float

    def as_dict(self) -> dict:
        return asdict(self)


def missing_labels(concepts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keep each positive (c >= 0.5) with probability 0.5; a dropped one becomes 0."""
    dropped = concept_mask(concepts) & (rng.random(concepts.shape) >= 0.5)
    return np.where(dropped, 0, concepts).astype(concepts.dtype)


def extra_labels(concepts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turn each negative into a positive (1) with probability p / (1 - p), p the column's
    positive rate, so the expected number of positives doubles."""
    positive = concept_mask(concepts)
    p = positive.mean(axis=0)
    flip_rate = np.divide(p, 1 - p, out=np.ones_like(p), where=p < 1)
    added = ~positive & (rng.random(concepts.shape) < flip_rate)
    return np.where(added, 1, concepts).astype(concepts.dtype)


def known_concept_neurons(
    n_images: int, n_neurons: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Generated neurons, each responding to its own binary concept (positive on 0.4 % to
    2 % of images, near the default alpha, as for a well-labelled unit) with a gain of 3 to 6
    over unit Gaussian noise; float32 [n_images, n_neurons]."""
    rate = rng.uniform(0.004, 0.02, size=n_neurons)
    concepts = (rng.random((n_images, n_neurons)) < rate).astype(np.float32)
    gain = rng.uniform(3.0, 6.0, size=n_neurons).astype(np.float32)
    noise = rng.standard_normal((n_images, n_neurons), dtype=np.float32)
    return concepts * gain + noise, concepts


def _share_fallen(before: np.ndarray, after: np.ndarray, name: str, epsilon: float) -> float:
    low, high = METRIC_RANGE[name]
    return float(np.mean((after - before) / (high - low) < -epsilon))


def sanity_table(
    activations: np.ndarray,
    concepts: np.ndarray,
    alpha: float = DEFAULT_ALPHA,
    seed: int = 0,
    epsilon: float = EPSILON,
) -> list[SanityRow]:
    """Both tests on neurons (columns) whose true concept is the matching column."""
    rng = np.random.default_rng(seed)
    base = probe_metrics(activations, concepts, alpha)
    missing = probe_metrics(activations, missing_labels(concepts, rng), alpha)
    extra = probe_metrics(activations, extra_labels(concepts, rng), alpha)
    rows = []
    for name in METRIC_NAMES:
        miss = _share_fallen(base[name], missing[name], name, epsilon)
        more = _share_fallen(base[name], extra[name], name, epsilon)
        rows.append(SanityRow(name, miss > PASS_SHARE, more > PASS_SHARE, miss, more))
    return rows


def run_sanity_tests(
    seed: int = 0, n_images: int = 20_000, n_neurons: int = 200, alpha: float = DEFAULT_ALPHA
) -> list[SanityRow]:
    """The sanity table on freshly generated neurons with known concepts."""
    rng = np.random.default_rng(seed)
    activations, concepts = known_concept_neurons(n_images, n_neurons, rng)
    return sanity_table(activations, concepts, alpha, seed=seed + 1)


def sampled_sanity_table(
    summary: ActivationSummary,
    activations: np.ndarray,
    ratings: np.ndarray,
    inclusion: np.ndarray,
    seed: int = 0,
    epsilon: float = EPSILON,
) -> tuple[list[SanityRow], int]:
    """Both tests on a rater's own sampled ratings (arrays as `estimate_probe_metrics`
    takes them), the rated label taken as each neuron's true concept: the perturbations
    act on the rated images (a perturbation of the whole vector, seen through the sample),
    and the extra-labels rate is the inclusion-weighted estimate of the positive share of
    the whole probe set. Columns with no rated positive have nothing to perturb and are
    left out. Returns the rows and how many columns were tested."""
    rated = ~np.isnan(ratings)
    kept = (rated & concept_mask(np.nan_to_num(ratings))).any(axis=0)
    summary, activations, ratings, inclusion, rated = (
        summary.take(kept), activations[:, kept], ratings[:, kept], inclusion[:, kept],
        rated[:, kept],
    )  # fmt: skip
    rows = []
    if not kept.any():
        return rows, 0
    rng = np.random.default_rng(seed)
    weights = np.where(rated, 1.0 / np.where(rated, inclusion, 1.0), 0.0)
    positive = rated & concept_mask(np.nan_to_num(ratings))
    rate = np.minimum((weights * positive).sum(axis=0) / summary.n_images, 1.0)
    flip = np.divide(rate, 1 - rate, out=np.ones_like(rate), where=rate < 1)
    added = rated & ~positive & (rng.random(ratings.shape) < flip)
    perturbed = {
        "missing": missing_labels(ratings, rng),
        "extra": np.where(added, 1.0, ratings),
    }
    base = estimate_probe_metrics(summary, activations, ratings, inclusion)
    after = {
        k: estimate_probe_metrics(summary, activations, v, inclusion) for k, v in perturbed.items()
    }
    for name in METRIC_NAMES:
        miss = _share_fallen(base[name], after["missing"][name], name, epsilon)
        more = _share_fallen(base[name], after["extra"][name], name, epsilon)
        rows.append(SanityRow(name, miss > PASS_SHARE, more > PASS_SHARE, miss, more))
    return rows, int(kept.sum())
