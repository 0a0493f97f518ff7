"""Dawid-Skene (1979) for yes/no labels, vectorised with numpy.

crowd-kit's DawidSkene is the reference implementation (tests check that this one agrees
with it); it works through pandas joins and needs seconds for 50,000 judgments, too slow
for a report that must be ready in under a second. Same model, same majority-vote start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-10


@dataclass(frozen=True)
class DawidSkeneFit:
    p_true: np.ndarray  # (n_items, 2): posterior P(truth = no), P(truth = yes)
    confusion: np.ndarray  # (n_workers, 2, 2): P(worker says l | truth t) at [w, t, l]
    prior: np.ndarray  # (2,)
    iterations: int


def fit_dawid_skene(
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int,
    n_workers: int,
    n_iter: int = 100,
    tol: float = 1e-5,  # crowd-kit's default
) -> DawidSkeneFit:
    """items, workers: integer codes; labels: 0/1, one entry per judgment."""
    n_yes = np.bincount(items, weights=labels, minlength=n_items)
    n_all = np.bincount(items, minlength=n_items)
    p_yes = np.divide(n_yes, n_all, out=np.full(n_items, 0.5), where=n_all > 0)
    p_true = np.column_stack([1 - p_yes, p_yes])
    iterations, change = 0, np.inf
    while iterations < n_iter and change >= tol:
        prior, confusion = _m_step(p_true, items, workers, labels, n_workers)
        new = _e_step(prior, confusion, items, workers, labels, n_items)
        change = np.abs(new - p_true).max()
        p_true, iterations = new, iterations + 1
    prior, confusion = _m_step(p_true, items, workers, labels, n_workers)
    return DawidSkeneFit(p_true, confusion, prior, iterations)


def _m_step(
    p_true: np.ndarray, items: np.ndarray, workers: np.ndarray, labels: np.ndarray, n_workers: int
) -> tuple[np.ndarray, np.ndarray]:
    prior = p_true.mean(axis=0)
    confusion = np.empty((n_workers, 2, 2))
    for truth in (0, 1):
        weight = p_true[items, truth]
        index = workers * 2 + labels
        counts = np.bincount(index, weights=weight, minlength=n_workers * 2).reshape(-1, 2)
        total = counts.sum(axis=1, keepdims=True)
        confusion[:, truth, :] = np.divide(
            counts, total, out=np.full_like(counts, 0.5), where=total > 0
        )
    return prior, np.clip(confusion, EPS, 1.0)


def _e_step(
    prior: np.ndarray,
    confusion: np.ndarray,
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int,
) -> np.ndarray:
    log_post = np.tile(np.log(np.clip(prior, EPS, 1.0)), (n_items, 1))
    for truth in (0, 1):
        log_post[:, truth] += np.bincount(
            items, weights=np.log(confusion[workers, truth, labels]), minlength=n_items
        )
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    return post / post.sum(axis=1, keepdims=True)
