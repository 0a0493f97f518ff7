"""Each rater against the human consensus per layer (Table 1), and yes-rates (Table 2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.agreement.pairwise import PairAgreement, group_sums, nan_percentiles, resample_sums

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


def reference_rows(
    overall: list[PairAgreement],
    by_layer: dict[str, list[PairAgreement]],
    reference: str,
) -> list[ReferenceRow]:
    """Every rater against the reference, each layer then Overall, read off the pair tables."""
    rows = []
    for layer, pairs in [*by_layer.items(), ("Overall", overall)]:
        for p in pairs:
            if reference not in (p.first, p.second):
                continue
            rows.append(
                ReferenceRow(
                    rater=p.second if p.first == reference else p.first,
                    reference=reference,
                    layer=layer,
                    n=p.n,
                    percent=p.percent,
                    iou=p.iou,
                    kappa=p.kappa,
                    ac1=p.ac1,
                    ci=p.ci,
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
