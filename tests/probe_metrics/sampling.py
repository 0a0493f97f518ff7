"""A Poisson sampling design for the weighted-estimate tests and the bench: every image is
drawn independently, with a higher probability in the neuron's top activations."""

from __future__ import annotations

import numpy as np


def inclusion_probabilities(activations: np.ndarray, top_share: float, p_top: float, p_rest: float):
    """p_top for images in each column's top `top_share` by activation, p_rest elsewhere."""
    cut = np.quantile(activations, 1 - top_share, axis=0)
    return np.where(activations >= cut, p_top, p_rest)


def draw(activations, concepts, probabilities, rng):
    """Padded [m, n_cols] arrays of the drawn images' activations, ratings (NaN where a
    column drew fewer) and inclusion probabilities."""
    drawn = rng.random(activations.shape) < probabilities
    m = int(drawn.sum(axis=0).max())
    a = np.zeros((m, activations.shape[1]))
    c = np.full((m, activations.shape[1]), np.nan)
    p = np.ones((m, activations.shape[1]))
    for j in range(activations.shape[1]):
        rows = np.flatnonzero(drawn[:, j])
        a[: rows.size, j] = activations[rows, j]
        c[: rows.size, j] = concepts[rows, j]
        p[: rows.size, j] = probabilities[rows, j]
    return a, c, p
