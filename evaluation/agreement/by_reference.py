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
    """Yes-rate of every rater per layer and overall; units resampled within each layer."""
    yes = group_sums((votes == 1).astype(np.float32), unit_of_row, len(unit_layer))
    judged = group_sums((votes != -1).astype(np.float32), unit_of_row, len(unit_layer))
    both = np.hstack([yes, judged])
    rows, total_sums = [], np.zeros((max(n_boot, 0), both.shape[1]))
    for code, name in enumerate(layers):
        mask = unit_layer == code
        sums = resample_sums(both[mask], n_boot, seed + code) if n_boot and mask.any() else None
        if sums is not None:
            total_sums += sums
        rows += _rate_rows(raters, name, both[mask].sum(axis=0), sums)
    overall = total_sums if n_boot > 0 and len(unit_layer) else None
    return rows + _rate_rows(raters, "Overall", both.sum(axis=0), overall)


def _rate_rows(raters, layer, totals, sums) -> list[YesRateRow]:
    # Sums are whole counts, kept as float32 for speed: divide in float64, so a share of
    # 17 / 20 reads 0.85, not 0.8500000238.
    k = len(raters)
    totals = np.asarray(totals, dtype=np.float64)
    lo = hi = np.full(k, np.nan)
    if sums is not None:
        with np.errstate(all="ignore"):
            boot = sums[:, :k].astype(np.float64) / sums[:, k:]
        lo, hi = np.moveaxis(nan_percentiles(boot, (0.025, 0.975)), -1, 0)
    return [
        YesRateRow(
            rater,
            layer,
            int(totals[k + r]),
            float(totals[r] / totals[k + r]),
            (float(lo[r]), float(hi[r])),
        )  # fmt: skip
        for r, rater in enumerate(raters)
        if totals[k + r] > 0
    ]
