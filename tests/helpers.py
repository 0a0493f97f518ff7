"""Helpers that tests of several features share. Fixtures live in tests/conftest.py; test
doubles of models, servers and workers in tests/doubles/."""

from __future__ import annotations

import numpy as np

from evaluation.agreement.pairwise import pairwise_overall_and_by_group


def pairwise_over_one_group(votes, raters, units, n_units, n_boot=500, seed=0):
    """The report's pairwise figures with every unit in one group (one layer)."""
    overall, _ = pairwise_overall_and_by_group(
        votes, raters, units, np.zeros(n_units, dtype=np.int64), ["all"], n_boot, seed
    )
    return overall
