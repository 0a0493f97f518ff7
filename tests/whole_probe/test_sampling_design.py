"""The sampling design: halving strata, and inclusion probabilities that are the real
chances of being drawn (checked by drawing many times)."""

import numpy as np
import pytest

from evaluation.probe_metrics.sampling import SampleDesign, draw_sample, stratum_edges


def test_strata_halve_towards_the_top():
    assert stratum_edges(100, 4) == [0, 13, 25, 50, 100]
    assert stratum_edges(100, 1) == [0, 100]
    assert stratum_edges(3, 4) == [0, 1, 1, 2, 3]  # an empty stratum draws nothing
    assert stratum_edges(100, 0) == [0]


def test_stored_probabilities_are_the_drawing_frequencies():
    acts = np.random.default_rng(0).standard_normal(60)
    design = SampleDesign(random=5, strata=3, per_stratum=2)
    counts = np.zeros(60)
    chance = None
    trials = 20_000
    for t in range(trials):
        positions, p = draw_sample(acts, design, np.random.default_rng(t))
        counts[positions] += 1
        full = np.zeros(60)
        full[positions] = p
        if chance is None:
            chance = np.zeros(60)
        chance = np.maximum(chance, full)  # each picture's probability is fixed by design
    top = np.argsort(-acts)[:15]
    assert np.allclose(chance[top], 1 - (1 - 5 / 60) * (1 - 2 / 15))
    bottom = np.argsort(-acts)[30:]
    assert np.allclose(chance[bottom], 1 - (1 - 5 / 60) * (1 - 2 / 30))
    assert np.allclose(counts / trials, chance, atol=0.02)


def test_a_small_rest_is_drawn_whole():
    positions, p = draw_sample(
        np.arange(4.0), SampleDesign(random=10, strata=0), np.random.default_rng(0)
    )
    assert positions.tolist() == [0, 1, 2, 3] and p.tolist() == [1.0] * 4


@pytest.mark.parametrize(
    "design, message",
    [
        (SampleDesign(0, 0), "nothing to draw"),
        (SampleDesign(-1, 2), "random must be a whole number"),
        (SampleDesign(3, 2, per_stratum=0), "per_stratum must be at least 1"),
        (SampleDesign(3, 31), "at most 30"),
    ],
)
def test_bad_designs_are_refused(design, message):
    with pytest.raises(ValueError, match=message):
        design.check()
