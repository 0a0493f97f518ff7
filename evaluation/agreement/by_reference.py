"""Each rater against one reference rater (the human consensus), per layer and overall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.agreement.pairwise import (
    bootstrap_intervals,
    cell_indicators,
    group_sums,
    metrics_from_counts,
    nan_percentiles,
    resample_sums,
)

SHOWN = ("n", "percent", "iou", "kappa", "ac1")


@dataclass(frozen=True)
class ReferenceRow:
    rater: str
    reference: str
    layer: str  # a layer name, or "Overall"
    n: int
    percent: float
    iou: float
    kappa: float
    ac1: float
    ci: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class YesRateRow:
    """Share of neurons (or pairs) a rater calls correct: the reference study's Table 2."""

    rater: str
    layer: str
    n: int
    rate: float
    ci: tuple[float, float]


def against_reference(
    votes: np.ndarray,
    raters: list[str],
    reference: int,
    unit_of_row: np.ndarray,
    unit_layer: np.ndarray,
    layers: list[str],
    n_boot: int,
    seed: int,
) -> list[ReferenceRow]:
    """Rows for every rater but the reference, each layer then Overall; CIs resample units."""
    others = [i for i in range(len(raters)) if i != reference]
    if not others or len(votes) == 0:
        return []
    cells = cell_indicators(votes, [(i, reference) for i in others])
    unit_counts = group_sums(cells, unit_of_row, len(unit_layer))
    groups = [(name, unit_layer == code) for code, name in enumerate(layers)]
    groups.append(("Overall", np.ones(len(unit_layer), dtype=bool)))
    rows = []
    for name, mask in groups:
        counts = unit_counts[mask]
        values = metrics_from_counts(*np.moveaxis(counts.sum(axis=0), -1, 0))
        cis = bootstrap_intervals(counts, n_boot, seed, ("percent", "iou", "kappa", "ac1"))
        for p, i in enumerate(others):
            rows.append(
                ReferenceRow(
                    rater=raters[i],
                    reference=raters[reference],
                    layer=name,
                    n=int(values["n"][p]),
                    percent=float(values["percent"][p]),
                    iou=float(values["iou"][p]),
                    kappa=float(values["kappa"][p]),
                    ac1=float(values["ac1"][p]),
                    ci={m: (float(v[p, 0]), float(v[p, 1])) for m, v in cis.items()},
                )
            )
    return rows


def yes_rates(
    votes: np.ndarray,
    raters: list[str],
    unit_of_row: np.ndarray,
    unit_layer: np.ndarray,
    layers: list[str],
    n_boot: int,
    seed: int,
) -> list[YesRateRow]:
    """Yes-rate of every rater per layer and overall, CIs by resampling units."""
    yes = group_sums((votes == 1).astype(np.float32), unit_of_row, len(unit_layer))
    judged = group_sums((votes != -1).astype(np.float32), unit_of_row, len(unit_layer))
    groups = [(name, unit_layer == code) for code, name in enumerate(layers)]
    groups.append(("Overall", np.ones(len(unit_layer), dtype=bool)))
    rows = []
    for name, mask in groups:
        y, n = yes[mask], judged[mask]
        total_y, total_n = y.sum(axis=0), n.sum(axis=0)
        if len(y) and n_boot > 0:
            sums = resample_sums(np.hstack([y, n]), n_boot, seed)
            with np.errstate(all="ignore"):
                boot = sums[:, : y.shape[1]] / sums[:, y.shape[1] :]
            lo, hi = np.moveaxis(nan_percentiles(boot, (0.025, 0.975)), -1, 0)
        else:
            lo = hi = np.full(len(raters), np.nan)
        for r, rater in enumerate(raters):
            if total_n[r] == 0:
                continue
            rows.append(
                YesRateRow(
                    rater,
                    name,
                    int(total_n[r]),
                    float(total_y[r] / total_n[r]),
                    (float(lo[r]), float(hi[r])),
                )
            )
    return rows
