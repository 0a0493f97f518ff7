"""Average precision of concept scores with the top-alpha images as the positives.

AP = sum over positives i of precision at the threshold s_i, divided by the number of
positives, where precision at s counts every image scoring >= s: tied scores share one
threshold, exactly as scikit-learn's `average_precision_score` treats them.
"""

from __future__ import annotations

import numpy as np


def dense_average_precision(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """AP per row of `scores` [n_cols, n_images] (one row per column, contiguous).

    One value sort per row; the positives (few: the top alpha) are then located in the
    sorted row by binary search, which is cheaper than an argsort of every row.
    """
    n = scores.shape[1]
    ranked = np.sort(scores, axis=1)
    out = np.zeros(scores.shape[0])
    for j in range(scores.shape[0]):
        pos = scores[j][targets[j]]
        if pos.size == 0:
            continue
        at_least = n - np.searchsorted(ranked[j], pos, side="left")
        pos_sorted = np.sort(pos)
        hits = pos.size - np.searchsorted(pos_sorted, pos, side="left")
        out[j] = np.mean(hits / at_least)
    return out


def weighted_average_precision(
    scores: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """AP per column of `scores` [n_images, n_cols], each image counting `weights` times
    (rows of weight 0 are ignored). Equals scikit-learn's `average_precision_score` with
    `sample_weight`, vectorised over columns by one argsort per column."""
    if weights is None:
        weights = np.ones(scores.shape)
    order = np.argsort(-scores, axis=0, kind="stable")
    s = np.take_along_axis(scores, order, axis=0)
    w = np.take_along_axis(weights, order, axis=0).astype(np.float64)
    tp = w * np.take_along_axis(targets, order, axis=0)
    tp_cum, seen_cum = np.cumsum(tp, axis=0), np.cumsum(w, axis=0)
    m = scores.shape[0]
    group_end = np.ones(scores.shape, dtype=bool)
    group_end[:-1] = s[:-1] != s[1:]
    # Each image takes the precision at the end of its group of tied scores.
    end = np.where(group_end, np.arange(m)[:, None], m)
    end = np.minimum.accumulate(end[::-1], axis=0)[::-1]
    precision = np.zeros(scores.shape)
    np.divide(tp_cum, seen_cum, out=precision, where=seen_cum > 0)
    at_end = np.take_along_axis(precision, end, axis=0)
    total = tp.sum(axis=0)
    out = np.zeros(scores.shape[1])
    np.divide((tp * at_end).sum(axis=0), total, out=out, where=total > 0)
    return out
