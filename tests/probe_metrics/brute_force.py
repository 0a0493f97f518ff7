"""Per-column reference computations for the probe-metrics tests: loops, scikit-learn's
average_precision_score and numpy's corrcoef, written independently of the module."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score


def brute_force_metrics(activations: np.ndarray, concepts: np.ndarray, alpha: float) -> dict:
    n, n_cols = activations.shape
    k = max(1, math.ceil(alpha * n))
    out = {name: [] for name in ("recall", "precision", "f1", "iou", "correlation", "cosine")}
    out["auprc"] = []
    for j in range(n_cols):
        a, c = activations[:, j].astype(float), concepts[:, j].astype(float)
        kth = sorted(a, reverse=True)[k - 1]
        top = {i for i in range(n) if a[i] >= kth}
        pos = {i for i in range(n) if c[i] >= 0.5}
        both = len(top & pos)
        out["recall"].append(both / len(top))
        out["precision"].append(both / len(pos) if pos else 0.0)
        out["f1"].append(2 * both / (len(top) + len(pos)))
        out["iou"].append(both / len(top | pos))
        out["correlation"].append(float(np.corrcoef(a, c)[0, 1]))
        out["cosine"].append(float(a @ c / (np.linalg.norm(a) * np.linalg.norm(c))))
        target = np.array([i in top for i in range(n)])
        out["auprc"].append(float(average_precision_score(target, c)))
    return {name: np.array(values) for name, values in out.items()}
