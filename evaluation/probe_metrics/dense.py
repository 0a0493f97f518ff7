"""Whole-probe metrics: the concept is known on every image of D (a dense model rater,
or dataset labels). Columns are processed in blocks, so a 63,305 x 3,840 float32 pair
(about 1 GB each) needs only a few hundred MB beyond the inputs, which may be memory maps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .average_precision import dense_average_precision
from .cutoff import DEFAULT_ALPHA, activation_cutoffs, check_alpha, concept_mask
from .formulas import METRIC_NAMES, Metrics, Totals, metrics_from_totals

BLOCK_COLS = 128


@dataclass(frozen=True)
class ActivationSummary:
    """What the metrics need of the activations over the whole of D, per column: computed
    once per layer and reused for every rater's sampled ratings."""

    n_images: int
    alpha: float
    cutoff: np.ndarray  # image i is in A when a_i >= cutoff
    n_top: np.ndarray
    sum_a: np.ndarray
    sum_a2: np.ndarray

    def take(self, columns) -> ActivationSummary:
        """The summary of some columns (an index or a boolean mask)."""
        return ActivationSummary(
            self.n_images, self.alpha, self.cutoff[columns], self.n_top[columns],
            self.sum_a[columns], self.sum_a2[columns],
        )  # fmt: skip


def check_pair(activations: np.ndarray, concepts: np.ndarray) -> None:
    if activations.ndim != 2:
        raise ValueError(f"activations must be 2-D [images, columns], got {activations.shape}")
    if activations.shape != concepts.shape:
        raise ValueError(f"shapes differ: {activations.shape} vs {concepts.shape}")


def _column_blocks(n_cols: int, block: int):
    for start in range(0, n_cols, block):
        yield slice(start, min(start + block, n_cols))


def _rows(x: np.ndarray, cols: slice) -> np.ndarray:
    """Columns `cols` of x as contiguous rows (float32 kept as is, for a fast sort)."""
    rows = np.ascontiguousarray(x[:, cols].T)
    if rows.dtype == bool:
        rows = rows.astype(np.float32)
    if not np.isfinite(rows).all():
        bad = int(np.argwhere(~np.isfinite(rows))[0][0]) + cols.start
        raise ValueError(f"NaN or infinite value in column {bad}")
    return rows


def summarise_activations(
    activations: np.ndarray, alpha: float = DEFAULT_ALPHA, block_cols: int = BLOCK_COLS
) -> ActivationSummary:
    alpha = check_alpha(alpha)
    n, n_cols = activations.shape
    cutoff, n_top = np.empty(n_cols), np.empty(n_cols)
    sum_a, sum_a2 = np.empty(n_cols), np.empty(n_cols)
    for cols in _column_blocks(n_cols, block_cols):
        a = _rows(activations, cols)
        cutoff[cols] = activation_cutoffs(a, alpha, axis=1)
        n_top[cols] = (a >= cutoff[cols, None]).sum(axis=1)
        a64 = a.astype(np.float64)
        sum_a[cols] = a64.sum(axis=1)
        sum_a2[cols] = np.einsum("ij,ij->i", a64, a64)
    return ActivationSummary(n, alpha, cutoff, n_top, sum_a, sum_a2)


def probe_metrics(
    activations: np.ndarray,
    concepts: np.ndarray,
    alpha: float = DEFAULT_ALPHA,
    block_cols: int = BLOCK_COLS,
    ranking: np.ndarray | None = None,
) -> Metrics:
    """All seven metrics for column j of `activations` against column j of `concepts`,
    both [n_images, n_cols] over the whole probe set; returns name -> [n_cols] array.

    AUPRC ranks the images by `ranking` (same shape, higher = more the concept) when given:
    a model's raw scores when `concepts` are its binarised verdicts; else by the concepts."""
    check_pair(activations, concepts)
    if ranking is not None:
        check_pair(activations, ranking)
    alpha = check_alpha(alpha)
    n, n_cols = activations.shape
    out = {name: np.empty(n_cols) for name in METRIC_NAMES}
    for cols in _column_blocks(n_cols, block_cols):
        a, c = _rows(activations, cols), _rows(concepts, cols)
        top = a >= activation_cutoffs(a, alpha, axis=1)[:, None]
        positive = concept_mask(c)
        a64, c64 = a.astype(np.float64), c.astype(np.float64)
        totals = Totals(
            n_images=n,
            n_top=top.sum(axis=1),
            n_concept=positive.sum(axis=1),
            n_both=(top & positive).sum(axis=1),
            sum_a=a64.sum(axis=1),
            sum_a2=np.einsum("ij,ij->i", a64, a64),
            sum_c=c64.sum(axis=1),
            sum_c2=np.einsum("ij,ij->i", c64, c64),
            sum_ac=np.einsum("ij,ij->i", a64, c64),
        )
        for name, values in metrics_from_totals(totals).items():
            out[name][cols] = values
        scores = c if ranking is None else _rows(ranking, cols)
        out["auprc"][cols] = dense_average_precision(scores, top)
    return out
