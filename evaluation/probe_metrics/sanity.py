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
from .weighted import check_sample, weighted_metrics

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
    epsilon: float = EPSILON,
    post_stratify: bool = False,
) -> tuple[list[SanityRow], int]:
    """Both tests on a rater's own sampled ratings (arrays as `estimate_probe_metrics`
    takes them), the rated label taken as each neuron's true concept.

    A sample holds too few images for one random perturbation to touch (at a 1 % positive
    rate, extra labels flips about one rated negative in a hundred), so each test applies
    its expected perturbation: every rated image that the test would change with chance q
    is split in two, counting for q of its weight changed and 1 - q unchanged (missing
    labels: positives, q = 1/2, to 0; extra labels: negatives, q = p / (1 - p), to 1, p the
    inclusion-weighted estimate of the positive share of the whole probe set). This gives
    the reference note's theoretical column. A column takes part when it has a rated
    positive and p < 1/2 (above it no flip rate doubles the positives: e.g. a label true of
    almost everything). `post_stratify` as in `estimate_probe_metrics`. Returns the rows
    and how many columns were tested."""
    rated = check_sample(summary, activations, ratings, inclusion)
    w = np.where(rated, 1.0 / np.where(rated, inclusion, 1.0), 0.0)
    positive = rated & concept_mask(np.nan_to_num(ratings))
    rate = (w * positive).sum(axis=0) / summary.n_images
    kept = positive.any(axis=0) & (rate < 0.5)
    if not kept.any():
        return [], 0
    summary = summary.take(kept)
    a, c, w, positive = activations[:, kept], ratings[:, kept], w[:, kept], positive[:, kept]
    negative = rated[:, kept] & ~positive
    flip = rate[kept] / (1 - rate[kept])
    missing = _split(a, c, w, np.where(positive, 0.5, 0.0), 0.0)
    extra = _split(a, c, w, np.where(negative, flip, 0.0), 1.0)
    base = weighted_metrics(summary, a, c, w, post_stratify)
    after = {
        "missing": weighted_metrics(summary, *missing, post_stratify),
        "extra": weighted_metrics(summary, *extra, post_stratify),
    }
    rows = []
    for name in METRIC_NAMES:
        miss = _share_fallen(base[name], after["missing"][name], name, epsilon)
        more = _share_fallen(base[name], after["extra"][name], name, epsilon)
        rows.append(SanityRow(name, miss > PASS_SHARE, more > PASS_SHARE, miss, more))
    return rows, int(kept.sum())


def _split(a, c, w, q, value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each slot twice: unchanged with weight (1 - q) w, set to `value` with weight q w."""
    changed = np.where(q > 0, value, np.nan)
    return np.vstack([a, a]), np.vstack([c, changed]), np.vstack([(1 - q) * w, q * w])
