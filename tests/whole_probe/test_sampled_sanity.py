"""The sanity tests on sampled ratings: generated neurons with known concepts, rated on
their top-k and a drawn sample only, give the published pass column, as the dense tests do;
and a label true of (almost) everything is left out of the test."""

import numpy as np

from evaluation.probe_metrics import (
    PUBLISHED_PASS,
    known_concept_neurons,
    sampled_sanity_table,
    summarise_activations,
)
from evaluation.probe_metrics.sampling import SampleDesign, draw_sample

K = 5


def sampled(acts: np.ndarray, concepts: np.ndarray, design: SampleDesign):
    """Per column: the top-k (probability 1) and the design's draw from the rest."""
    columns = []
    for j in range(acts.shape[1]):
        order = np.argsort(-acts[:, j], kind="stable")
        top, rest = order[:K], np.sort(order[K:])
        positions, chance = draw_sample(acts[rest, j], design, np.random.default_rng(j))
        rows = np.concatenate([top, rest[positions]])
        columns.append((rows, np.concatenate([np.ones(K), chance])))
    depth = max(len(rows) for rows, _ in columns)
    a, c, p = (np.full((depth, acts.shape[1]), np.nan) for _ in range(3))
    p[:] = 1.0
    for j, (rows, chance) in enumerate(columns):
        a[: len(rows), j], c[: len(rows), j], p[: len(rows), j] = (
            acts[rows, j],
            concepts[rows, j],
            chance,
        )
    return a, c, p


def test_sampled_ratings_reproduce_the_published_pass_column():
    rng = np.random.default_rng(0)
    acts, concepts = known_concept_neurons(20_000, 120, rng)
    summary = summarise_activations(acts, 0.005)
    a, c, p = sampled(acts, concepts, SampleDesign(random=30, strata=10, per_stratum=4))
    rows, tested = sampled_sanity_table(summary, a, c, p)
    assert tested == 120
    verdicts = {r.metric: (r.missing_labels_pass, r.extra_labels_pass) for r in rows}
    assert verdicts == PUBLISHED_PASS, [r.as_dict() for r in rows]
    shares = {r.metric: (r.missing_labels_share, r.extra_labels_share) for r in rows}
    assert shares["recall"][1] == 0.0 and shares["precision"][0] == 0.0  # theoretical column


def test_a_label_true_of_almost_everything_is_not_tested():
    rng = np.random.default_rng(0)
    acts, concepts = known_concept_neurons(5_000, 4, rng)
    concepts[:, 0] = 1.0  # "objects"
    summary = summarise_activations(acts, 0.005)
    a, c, p = sampled(acts, concepts, SampleDesign(random=30, strata=6, per_stratum=4))
    _, tested = sampled_sanity_table(summary, a, c, p)
    assert tested == 3
