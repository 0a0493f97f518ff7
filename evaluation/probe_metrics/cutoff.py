"""Binarisation of activations and concepts, as the reference note defines it."""

from __future__ import annotations

import math

import numpy as np

DEFAULT_ALPHA = 0.005
CONCEPT_THRESHOLD = 0.5


def check_alpha(alpha: float) -> float:
    if not (0.0 < alpha <= 1.0) or math.isnan(alpha):
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    return float(alpha)


def top_count(n_images: int, alpha: float) -> int:
    """k = ceil(alpha * |D|), at least one image."""
    return max(1, math.ceil(check_alpha(alpha) * n_images))


def activation_cutoffs(activations: np.ndarray, alpha: float, axis: int = 0) -> np.ndarray:
    """Per column (images along `axis`), the k-th largest activation. A = {i : a_i >= cutoff},
    so ties at the cut-off are all in A and abs(A) may exceed k."""
    n = activations.shape[axis]
    k = top_count(n, alpha)
    return np.take(np.partition(activations, n - k, axis=axis), n - k, axis=axis)


def top_alpha_mask(activations: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """Boolean [n_images, n_cols]: image i is in the neuron's top alpha fraction."""
    return activations >= activation_cutoffs(activations, alpha)


def concept_mask(concepts: np.ndarray) -> np.ndarray:
    """C = {i : c_i >= 0.5}."""
    return concepts >= CONCEPT_THRESHOLD
