"""Ordinal agreement maths against published values and against the libraries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from evaluation.agreement.ordinal import (
    alpha_all_raters,
    binarise,
    binarised_ratings,
    krippendorff_alpha,
    mean_ratings,
    ordinal_agreement,
    spearman,
    weighted_kappa,
    win_rates,
)
from tests.helpers import pairwise_over_one_group as pairwise_agreement

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four
# observers, twelve units, values 1-5, missing values.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def test_krippendorff_alpha_matches_the_published_example():
    assert krippendorff_alpha(KRIPPENDORFF_2011, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF_2011, "interval") == pytest.approx(0.849, abs=5e-4)


def test_weighted_kappa_by_hand():
    # Marginals 1/4, 1/4, 1/2 for both raters; observed |i - j| = 0, 1, 0, 1.
    # Linear: 1 - (2/4) / (7/8) = 3/7. Quadratic: 1 - (2/4) / (11/8) = 7/11.
    a, b = [1, 2, 3, 3], [1, 3, 3, 2]
    assert weighted_kappa(a, b, "linear") == pytest.approx(3 / 7)
    assert weighted_kappa(a, b, "quadratic") == pytest.approx(7 / 11)


def test_quadratic_kappa_is_fleiss_and_cohens_product_moment_form():
    # Fleiss & Cohen (1973): with quadratic weights, kappa = 2 s_xy / (s_x² + s_y² + (x̄ - ȳ)²).
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 200)
    y = np.clip(x + rng.integers(-1, 3, 200), 1, 5)
    cov = np.mean((x - x.mean()) * (y - y.mean()))
    expected = 2 * cov / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
    assert weighted_kappa(x, y, "quadratic") == pytest.approx(expected)
    assert weighted_kappa(x, y, None) == pytest.approx(cohen_kappa_score(x, y))


def test_spearman_with_ties_and_undefined_cases():
    # Ranks with ties averaged: x -> 1, 2.5, 2.5, 4; y -> 1, 2, 3, 4: r = 0.9487 (sqrt(0.9)).
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9**0.5)
    assert np.isnan(spearman([3, 3, 3], [1, 2, 3]))
    assert np.isnan(weighted_kappa([], []))
    assert np.isnan(krippendorff_alpha([[1, NAN], [NAN, 2]]))


def table(rows) -> pd.DataFrame:
    columns = ["rater", "neuron", "label_set", "layer", "unit", "rating"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["rating"] = frame["rating"].astype(float)
    return frame.assign(uninterpretable=False, none_fits=False)


def test_pairs_per_label_set_and_overall_skip_labels_not_rated_by_both():
    rows = []
    for neuron, (label_set, r1, r2) in enumerate(
        [("A", 1, 1), ("A", 2, 3), ("A", 5, 4), ("B", 3, 3), ("B", 4, NAN), ("B", 2, 1)]
    ):
        rows += [
            ("E1", neuron, label_set, "l4", neuron, r1),
            ("E2", neuron, label_set, "l4", neuron, r2),
        ]
    found = {row.label_set: row for row in ordinal_agreement(table(rows))}
    overall = found[None]
    x, y = [1, 2, 5, 3, 2], [1, 3, 4, 3, 1]
    assert (overall.first, overall.second, overall.n) == ("E1", "E2", 5)
    assert overall.kappa_quadratic == pytest.approx(
        cohen_kappa_score(x, y, weights="quadratic", labels=[1, 2, 3, 4, 5])
    )
    assert overall.kappa_linear == pytest.approx(
        cohen_kappa_score(x, y, weights="linear", labels=[1, 2, 3, 4, 5])
    )
    assert overall.alpha_ordinal == pytest.approx(krippendorff_alpha([x, y], "ordinal"))
    assert found["B"].n == 2 and found["A"].n == 3
    assert alpha_all_raters(table(rows), "interval") == pytest.approx(
        krippendorff_alpha([[1, 2, 5, 3, 4, 2], [1, 3, 4, 3, NAN, 1]], "interval")
    )


def test_mean_ratings_per_label_set_and_layer_with_bootstrap_intervals():
    rng = np.random.default_rng(0)
    rows = [
        (rater, f"{ls}{layer}{u}", ls, layer, u, int(rng.integers(1, 6)))
        for ls in ("A", "B")
        for layer in ("l3", "l4")
        for u in range(40)
        for rater in ("E1", "E2")
    ]
    frame = table(rows)
    means = mean_ratings(frame, n_boot=400, seed=1)
    assert list(means[["label_set", "layer"]].itertuples(index=False, name=None)) == [
        ("A", "l3"), ("A", "l4"), ("A", None), ("B", "l3"), ("B", "l4"), ("B", None),
    ]  # fmt: skip
    a3 = means.iloc[0]
    truth = frame[(frame.label_set == "A") & (frame.layer == "l3")]["rating"]
    assert (a3.neurons, a3.ratings, a3["mean"]) == (40, 80, pytest.approx(truth.mean()))
    assert a3.low < a3["mean"] < a3.high
    # The interval is about 2 standard errors of a neuron's mean rating each side.
    per_neuron = truth.to_numpy().reshape(40, 2).mean(axis=1)
    half = 1.96 * per_neuron.std(ddof=1) / np.sqrt(40)
    assert (a3.high - a3.low) / 2 == pytest.approx(half, rel=0.25)
    assert means.equals(mean_ratings(frame, n_boot=400, seed=1))


def test_win_rates_count_every_answer_and_none_fits():
    choices = pd.DataFrame(
        [
            ("E1", "l4", 0, "DnD", False, False),
            ("E2", "l4", 0, "DnD", False, False),
            ("E1", "l4", 1, "MILAN", False, False),
            ("E2", "l4", 1, None, True, False),
        ],
        columns=["rater", "layer", "unit", "chosen", "none_fits", "uninterpretable"],
    )
    rates = win_rates(choices, label_sets=["CLIP-Dissect", "MILAN", "DnD"], n_boot=200)
    assert rates[["label_set", "wins", "answers", "rate"]].to_dict("records") == [
        {"label_set": "CLIP-Dissect", "wins": 0, "answers": 4, "rate": 0.0},
        {"label_set": "MILAN", "wins": 1, "answers": 4, "rate": 0.25},
        {"label_set": "DnD", "wins": 2, "answers": 4, "rate": 0.5},
        {"label_set": "none fits", "wins": 1, "answers": 4, "rate": 0.25},
    ]
    # Two units: a resample holds unit 0 twice (DnD 1.0), unit 1 twice (0.0) or both (0.5).
    dnd = rates.iloc[2]
    assert (dnd.low, dnd.high) == (0.0, 1.0)


def test_binarised_ratings_feed_the_yes_no_kappa():
    rng = np.random.default_rng(5)
    r1 = rng.integers(1, 6, 60)
    r2 = np.clip(r1 + rng.integers(-1, 2, 60), 1, 5)
    rows = [("E1", n, "A", "l4", n, r) for n, r in enumerate(r1)]
    rows += [("E2", n, "A", "l4", n, r) for n, r in enumerate(r2)]
    long = binarise(table(rows), threshold=4)
    assert set(long.columns) == {"rater", "neuron", "layer", "item", "verdict", "score"}
    assert (long[long.rater == "E1"]["verdict"] == np.where(r1 >= 4, "yes", "no")).all()
    ratings = binarised_ratings(table(rows))
    (pair,) = pairwise_agreement(
        ratings.votes, ratings.raters, ratings.item_neuron, len(ratings.neurons), n_boot=0
    )
    assert pair.kappa == pytest.approx(cohen_kappa_score(r1 >= 4, r2 >= 4))
