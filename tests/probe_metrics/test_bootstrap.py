"""Bootstrap intervals over neurons: seeded, covering, ignoring missing values."""

from __future__ import annotations

import numpy as np

from evaluation.probe_metrics import bootstrap_ci, bootstrap_cis


def test_same_seed_same_interval_and_the_mean_inside():
    values = np.random.default_rng(0).random(300)
    first, again = bootstrap_ci(values, seed=4), bootstrap_ci(values, seed=4)
    assert first == again
    assert first.low < first.mean < first.high
    assert first.mean == values.mean() and first.n_columns == 300


def test_about_95_percent_of_intervals_cover_the_true_mean():
    rng = np.random.default_rng(1)
    covered = 0
    for seed in range(200):
        ci = bootstrap_ci(rng.normal(0.3, 0.1, size=80), n_boot=1000, seed=seed)
        covered += ci.low <= 0.3 <= ci.high
    assert 0.88 <= covered / 200 <= 0.99


def test_nan_columns_are_left_out_and_empty_gives_nan():
    ci = bootstrap_ci(np.array([0.2, np.nan, 0.4, 0.6]))
    assert ci.n_columns == 3 and abs(ci.mean - 0.4) < 1e-12
    assert np.isnan(bootstrap_ci(np.array([np.nan])).mean)


def test_one_interval_per_metric():
    cis = bootstrap_cis({"f1": np.array([0.1, 0.2, 0.3]), "iou": np.array([0.5, 0.5, 0.5])})
    assert set(cis) == {"f1", "iou"}
    assert cis["iou"].low == cis["iou"].high == 0.5
