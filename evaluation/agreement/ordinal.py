"""Agreement on ordinal ratings (1-5 per label) and best-of choices; no Django.

Input is the long rating table (`RATING_COLUMNS`, one row per rater and label rated, the
rating nan when the rater gave none) or the choice table (`CHOICE_COLUMNS`, one row per
rater and unit). Raters are compared on the labels both rated. Confidence intervals are
percentile bootstraps that resample neurons (units), seeded, as the yes/no tables do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from evaluation.agreement.pairwise import nan_percentiles, resample_sums, upper_pairs
from evaluation.agreement.ratings import Ratings, build_ratings

RATING_COLUMNS = (
    "rater", "neuron", "label_set", "layer", "unit", "rating", "uninterpretable", "none_fits",
)  # fmt: skip
CHOICE_COLUMNS = ("rater", "layer", "unit", "chosen", "none_fits", "uninterpretable")
SCALE = (1, 2, 3, 4, 5)
DEFAULT_THRESHOLD = 4
Weights = Literal["linear", "quadratic"] | None
Level = Literal["ordinal", "interval"]


def weighted_kappa(a, b, weights: Weights = "quadratic", scale=SCALE) -> float:
    """Cohen's kappa of two raters' ratings of the same items (unweighted with None);
    nan when undefined (no items, or both raters constant)."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return float("nan")
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(cohen_kappa_score(a, b, weights=weights, labels=list(scale)))


def krippendorff_alpha(matrix, level: Level = "ordinal", scale=SCALE) -> float:
    """Krippendorff's alpha of a (raters, items) array, nan for missing; nan when
    undefined (fewer than two pairable values, or one value only)."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or (np.sum(~np.isnan(matrix), axis=0) >= 2).sum() == 0:
        return float("nan")
    if len(np.unique(matrix[~np.isnan(matrix)])) < 2:
        return float("nan")
    return float(
        krippendorff.alpha(
            reliability_data=matrix, level_of_measurement=level, value_domain=list(scale)
        )
    )


def spearman(a, b) -> float:
    """Spearman's rank correlation (ties averaged); nan when either side is constant."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def check_rating_table(table: pd.DataFrame) -> None:
    missing = [c for c in RATING_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"rating table lacks column(s): {', '.join(missing)}")


def rating_matrix(table: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(raters, neuron ids, (raters, neurons) ratings with nan where not rated)."""
    check_rating_table(table)
    rated = table[table["rating"].notna()]
    wide = rated.pivot_table(index="rater", columns="neuron", values="rating", aggfunc="last")
    return [str(r) for r in wide.index], wide.columns.to_numpy(), wide.to_numpy(dtype=float)


@dataclass(frozen=True)
class OrdinalAgreement:
    """Two raters on the labels both rated; `label_set` None for all label sets together."""

    first: str
    second: str
    label_set: str | None
    n: int
    kappa_linear: float
    kappa_quadratic: float
    spearman: float
    alpha_ordinal: float
    alpha_interval: float


def _pair_agreement(first, second, label_set, x, y) -> OrdinalAgreement:
    both = ~np.isnan(x) & ~np.isnan(y)
    a, b = x[both].astype(int), y[both].astype(int)
    pair = np.vstack([x[both], y[both]])
    return OrdinalAgreement(
        first=first,
        second=second,
        label_set=label_set,
        n=int(both.sum()),
        kappa_linear=weighted_kappa(a, b, "linear"),
        kappa_quadratic=weighted_kappa(a, b, "quadratic"),
        spearman=spearman(a, b),
        alpha_ordinal=krippendorff_alpha(pair, "ordinal"),
        alpha_interval=krippendorff_alpha(pair, "interval"),
    )


def ordinal_agreement(table: pd.DataFrame) -> list[OrdinalAgreement]:
    """Every pair of raters, over all label sets (label_set None) and within each."""
    check_rating_table(table)
    groups = [(None, table)]
    groups += [(str(name), part) for name, part in table.groupby("label_set", sort=True)]
    result = []
    for name, part in groups:
        raters, _, matrix = rating_matrix(part)
        for i, j in upper_pairs(len(raters)):
            result.append(_pair_agreement(raters[i], raters[j], name, matrix[i], matrix[j]))
    return result


def alpha_all_raters(table: pd.DataFrame, level: Level = "ordinal") -> float:
    """Krippendorff's alpha over every rater at once (missing ratings allowed)."""
    return krippendorff_alpha(rating_matrix(table)[2], level)


def _intervals(sums: np.ndarray, n_boot: int, seed: int, level: float) -> np.ndarray:
    """(m, 2) percentile CIs of ratio columns: `sums` is (n, 2 m), numerators then counts."""
    resampled = resample_sums(sums, n_boot, seed)
    m = sums.shape[1] // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = resampled[:, :m] / resampled[:, m:]
    ratios[~np.isfinite(ratios)] = np.nan
    alpha = (1 - level) / 2
    return nan_percentiles(ratios.astype(float), (alpha, 1 - alpha))


def mean_ratings(
    table: pd.DataFrame, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Mean rating per label set per layer, and over all layers (layer None): every
    rating given counts once; CIs resample the neurons (each with all its ratings).

    Columns: label_set, layer, neurons, ratings, mean, low, high (Describe-and-Dissect's
    table of method by layer).
    """
    check_rating_table(table)
    rated = table[table["rating"].notna()]
    per_neuron = rated.groupby(["label_set", "layer", "neuron"], sort=True)["rating"].agg(
        ["sum", "count"]
    )
    rows = []
    for label_set, part in per_neuron.groupby(level="label_set", sort=True):
        layers = [(lay, g) for lay, g in part.groupby(level="layer", sort=True)]
        for layer, group in [*layers, (None, part)]:
            values = group[["sum", "count"]].to_numpy(dtype=float)
            low, high = _intervals(values, n_boot, seed, level)[0] if n_boot else (np.nan,) * 2
            rows.append(
                {
                    "label_set": str(label_set),
                    "layer": None if layer is None else str(layer),
                    "neurons": len(group),
                    "ratings": int(values[:, 1].sum()),
                    "mean": float(values[:, 0].sum() / values[:, 1].sum()),
                    "low": float(low),
                    "high": float(high),
                }
            )
    columns = ["label_set", "layer", "neurons", "ratings", "mean", "low", "high"]
    # Object columns, so the all-layers row keeps None (a string column would make it nan).
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns}).astype(
        {"neurons": int, "ratings": int, "mean": float, "low": float, "high": float}
    )


NONE_FITS = "none fits"


def win_rates(
    choices: pd.DataFrame,
    label_sets: list[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """How often each label set's label was chosen best, over every (rater, unit) answer;
    answers with no choice count under "none fits". CIs resample units with all their
    raters' answers. Columns: label_set, wins, answers, rate, low, high."""
    missing = [c for c in CHOICE_COLUMNS if c not in choices.columns]
    if missing:
        raise ValueError(f"choice table lacks column(s): {', '.join(missing)}")
    chosen = choices["chosen"].where(choices["chosen"].notna(), NONE_FITS).astype(str)
    found = sorted(set(chosen) - {NONE_FITS})
    names = [*(label_sets or found), NONE_FITS]
    names += [n for n in found if n not in names]
    unit_codes = pd.MultiIndex.from_arrays([choices["layer"], choices["unit"]]).factorize()[0]
    n_units = int(unit_codes.max()) + 1 if len(unit_codes) else 0
    wins = np.zeros((n_units, len(names)))
    np.add.at(wins, (unit_codes, [names.index(c) for c in chosen]), 1)
    answers = np.bincount(unit_codes, minlength=n_units).astype(float)
    sums = np.hstack([wins, np.repeat(answers[:, None], len(names), axis=1)])
    if n_units and n_boot:
        cis = _intervals(sums, n_boot, seed, level)
    else:
        cis = np.full((len(names), 2), np.nan)
    total = answers.sum()
    return pd.DataFrame(
        {
            "label_set": names,
            "wins": wins.sum(axis=0).astype(int),
            "answers": int(total),
            "rate": wins.sum(axis=0) / total if total else np.nan,
            "low": cis[:, 0],
            "high": cis[:, 1],
        }
    )


def binarise(table: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The ratings as yes/no per (rater, label): rating >= threshold is yes. Unrated labels
    are left out. Columns are those of `ratings.COLUMNS` (the item is the neuron, the score
    the rating), so the table goes straight into `build_ratings` and the yes/no maths."""
    check_rating_table(table)
    rated = table[table["rating"].notna()]
    return pd.DataFrame(
        {
            "rater": rated["rater"].astype(str).to_numpy(),
            "neuron": rated["neuron"].to_numpy(),
            "layer": rated["layer"].astype(str).to_numpy(),
            "item": rated["neuron"].to_numpy(),
            "verdict": np.where(rated["rating"].to_numpy() >= threshold, "yes", "no"),
            "score": rated["rating"].to_numpy(dtype=float),
        }
    )


def binarised_ratings(table: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD) -> Ratings:
    """`binarise` pivoted to the items x raters votes the pairwise figures take."""
    return build_ratings(binarise(table, threshold))
