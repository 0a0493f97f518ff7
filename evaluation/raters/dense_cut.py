"""The verdicts that dense OpenCLIP scores stand for, the same cuts the pair raters make.
Torch-free: reports and metrics read it in the web process."""

from __future__ import annotations

from typing import Any

import numpy as np


def similarity_above_threshold(scores: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """ES: yes when cos(image, label) > threshold."""
    return np.asarray(scores) > float(params["threshold"])


def rank_within_proportion(scores: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """CP: yes when rank / |S| <= proportion (rank <= proportion x |S|)."""
    return np.asarray(scores) <= float(params["proportion"])
