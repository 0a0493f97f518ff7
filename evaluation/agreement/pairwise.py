"""Agreement between two raters on the items both judged, for every pair of raters at once.

Everything is computed from the 2x2 table of counts (a = both yes, b = first yes and second
no, c = first no and second yes, d = both no), so bootstrap resamples only re-add counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from scipy import sparse

METRICS = ("n", "percent", "iou", "kappa", "pabak", "ac1", "positive", "negative")
DEFINITIONS = {
    "n": "items judged yes or no by both raters",
    "percent": "(a + d) / n: share of common items with the same verdict",
    "iou": "a / (a + b + c) = |A ∩ B| / |A ∪ B| over the sets of items each rater calls yes, "
    "counting only items both judged (the reference study's |A ∩ H| / |A ∪ H|)",
    "kappa": "Cohen's kappa (p_o - p_e) / (1 - p_e), p_e from each rater's own yes-rate",
    "pabak": "prevalence- and bias-adjusted kappa, 2 p_o - 1",
    "ac1": "Gwet's AC1, (p_o - p_e) / (1 - p_e) with p_e = 2 π (1 - π), π the mean yes-rate",
    "positive": "positive agreement 2a / (2a + b + c)",
    "negative": "negative agreement 2d / (2d + b + c)",
}


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    n: int
    percent: float
    iou: float
    kappa: float
    pabak: float
    ac1: float
    positive: float
    negative: float
    a: int
    b: int
    c: int
    d: int
    ci: dict[str, tuple[float, float]]


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def metrics_from_counts(a, b, c, d) -> dict[str, np.ndarray]:
    """Every metric, element-wise over arrays of counts of any (equal) shape."""
    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    n = a + b + c + d
    po = _div(a + d, n)
    p1, p2 = _div(a + b, n), _div(a + c, n)
    pe = p1 * p2 + (1 - p1) * (1 - p2)
    pi = (p1 + p2) / 2
    pe_g = 2 * pi * (1 - pi)
    return {
        "n": n,
        "percent": po,
        "iou": _div(a, a + b + c),
        "kappa": _div(po - pe, 1 - pe),
        "pabak": 2 * po - 1,
        "ac1": _div(po - pe_g, 1 - pe_g),
        "positive": _div(2 * a, 2 * a + b + c),
        "negative": _div(2 * d, 2 * d + b + c),
    }


def upper_pairs(n_raters: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n_raters) for j in range(i + 1, n_raters)]


YES_CODE, NO_CODE = 2, 1  # a vote of 1 (yes) or 0 (no) shifted by one; missing (-1) is 0


def unit_cell_counts(
    votes: np.ndarray, pairs: list[tuple[int, int]], units: np.ndarray, n_units: int
) -> np.ndarray:
    """(n_units, n_pairs, 4) float32: how many of each unit's items fall in each rater pair's
    a/b/c/d cell (yes-yes, yes-no, no-yes, no-no); items either rater left out count nowhere.

    One small cell code per (item, pair), counted with np.bincount. The one-hot float array
    (items x pairs x 4) summed by unit that this replaces took 7.5 s and 288 MB at 500,000
    items and 36 pairs.
    """
    units = np.asarray(units, dtype=np.int64)
    by_pair = np.empty((len(pairs), n_units, 4), dtype=np.float32)  # contiguous per pair
    # One of 9 codes per (item, pair): 3 * first + second over votes shifted to 0 (missing),
    # 1 (no), 2 (yes); counted per unit with no masking, then the 4 yes/no cells are kept.
    # A pair is counted over the items its sparser rater judged (annotators who judged a
    # fifth of the study, or fifty items) when that is less than half of them.
    shifted = [col.astype(np.int64) + 1 for col in votes.T]
    as_first = [units * 9 + 3 * col for col in shifted]
    judged = [np.flatnonzero(col) for col in shifted]
    cell_codes = [3 * YES_CODE + YES_CODE, 3 * YES_CODE + NO_CODE, 3 * NO_CODE + YES_CODE]
    cell_codes.append(3 * NO_CODE + NO_CODE)
    for p, (i, j) in enumerate(pairs):
        rows = min(judged[i], judged[j], key=len)
        if 2 * len(rows) < len(votes):
            codes = as_first[i][rows] + shifted[j][rows]
        else:
            codes = as_first[i] + shifted[j]
        nine = np.bincount(codes, minlength=n_units * 9).reshape(n_units, 9)
        by_pair[p] = nine[:, cell_codes]
    # One transposing copy: writing each pair straight into (units, pairs, 4) strided by
    # pairs cost 5 ms a pair at 100,000 units.
    return np.ascontiguousarray(by_pair.transpose(1, 0, 2))


def group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum rows of `values` (n, ...) into `n_groups` rows by group index."""
    flat = values.reshape(len(values), int(np.prod(values.shape[1:])))
    onehot = sparse.csr_matrix(
        (np.ones(len(groups), dtype=flat.dtype), (groups, np.arange(len(groups)))),
        shape=(n_groups, len(groups)),
    )
    return np.asarray(onehot @ flat).reshape((n_groups, *values.shape[1:]))


# Resample weights are reused within a `shared_resamples()` block up to this many cells a
# draw; bigger draws are made block by block so memory stays bounded whatever n_boot and n.
CACHED_CELLS = 4_000_000
_shared_draws: ContextVar[dict | None] = ContextVar("shared_draws", default=None)


@contextmanager
def shared_resamples() -> Iterator[None]:
    """Within the block, each (n, n_boot, seed) is drawn once and reused.

    A report resamples the same neurons of a layer (same n and seed) for the pair- and the
    neuron-level tables and both levels' yes-rates: four draws become one. The draws are
    kept as small unsigned counts and dropped when the block ends.
    """
    token = _shared_draws.set({})
    try:
        yield
    finally:
        _shared_draws.reset(token)


def _draw(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """(n_boot, n): how many times each unit is drawn in each resample.

    Counted one resample at a time: a bincount over n bins stays in the CPU cache, where one
    over all n_boot x n bins at once scattered through memory and took 2.5x as long.
    """
    small = np.min_scalar_type(n)  # counts and indices both fit: a unit is drawn <= n times
    draws = rng.integers(0, n, size=(n_boot, n), dtype=small if n <= 2**16 else np.int64)
    counts = np.empty((n_boot, n), dtype=small)
    for row, drawn in zip(counts, draws, strict=True):
        row[:] = np.bincount(drawn, minlength=n)
    return counts


def bootstrap_weights(n: int, n_boot: int, seed: int) -> np.ndarray:
    """The resample counts for (n, n_boot, seed); shared inside `shared_resamples()`."""
    shared = _shared_draws.get()
    if shared is None:
        return _draw(np.random.default_rng(seed), n, n_boot)
    key = (n, n_boot, seed)
    if key not in shared:
        shared[key] = _draw(np.random.default_rng(seed), n, n_boot)
    return shared[key]


def resample_sums(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, m): column sums of `values` (n, m) over `n_boot` resamples of its rows."""
    n = len(values)
    flat = values.astype(np.float32)
    if n * n_boot <= CACHED_CELLS:
        return bootstrap_weights(n, n_boot, seed).astype(np.float32) @ flat
    rng = np.random.default_rng(seed)
    block = max(1, CACHED_CELLS // n)
    return np.concatenate(
        [
            _draw(rng, n, min(block, n_boot - start)).astype(np.float32) @ flat
            for start in range(0, n_boot, block)
        ]
    )


def nan_percentiles(values: np.ndarray, qs: tuple[float, float]) -> np.ndarray:
    """Linear-interpolated quantiles along axis 0 ignoring nan; (..., len(qs)).

    np.nanquantile loops in Python over columns; sorting once puts nan last, so each
    column's quantile is read at a position scaled by its count of valid values.
    """
    ordered = np.sort(values, axis=0)
    valid = (~np.isnan(values)).sum(axis=0)
    out = []
    for q in qs:
        pos = np.clip((valid - 1) * q, 0, None)
        low = np.floor(pos).astype(np.int64)
        high = np.minimum(low + 1, np.maximum(valid - 1, 0))
        frac = pos - low
        lo_v = np.take_along_axis(ordered, low[None], axis=0)[0]
        hi_v = np.take_along_axis(ordered, high[None], axis=0)[0]
        out.append(np.where(valid > 0, lo_v + (hi_v - lo_v) * frac, np.nan))
    return np.stack(out, axis=-1)


def resampled_counts(unit_counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray | None:
    """(n_boot, ..., 4) count tables of resamples of the units; None when there are none."""
    n_units = len(unit_counts)
    if n_units == 0 or n_boot <= 0:
        return None
    flat = unit_counts.reshape(n_units, -1)
    return resample_sums(flat, n_boot, seed).reshape(n_boot, *unit_counts.shape[1:])


def intervals_from_resamples(
    resampled: np.ndarray, metrics: tuple[str, ...], level: float = 0.95
) -> dict[str, np.ndarray]:
    values = metrics_from_counts(*np.moveaxis(resampled, -1, 0))
    alpha = (1 - level) / 2
    return {m: nan_percentiles(values[m], (alpha, 1 - alpha)) for m in metrics}


CI_METRICS = ("percent", "iou", "kappa", "ac1")


def pairwise_overall_and_by_group(
    votes: np.ndarray,
    raters: list[str],
    units: np.ndarray,
    unit_group: np.ndarray,
    group_names: list[str],
    n_boot: int = 500,
    seed: int = 0,
) -> tuple[list[PairAgreement], dict[str, list[PairAgreement]]]:
    """Every pair overall and within each group of units (a layer), from one count table.

    The bootstrap is stratified: units are resampled within their group, and an overall
    resample is the sum of its groups' resamples (layers are fixed by design, and this halves
    the work against resampling the whole study again).
    """
    pairs = upper_pairs(len(raters))
    if not pairs or len(votes) == 0:
        return [], {}
    unit_counts = unit_cell_counts(votes, pairs, units, len(unit_group))
    by_group, resampled_total = {}, None
    for g, name in enumerate(group_names):
        counts = unit_counts[unit_group == g]
        if len(counts) == 0:
            continue
        resampled = resampled_counts(counts, n_boot, seed + g)
        by_group[name] = _pair_rows(counts.sum(axis=0), resampled, pairs, raters)
        if resampled is not None:
            resampled_total = resampled if resampled_total is None else resampled_total + resampled
    overall = _pair_rows(unit_counts.sum(axis=0), resampled_total, pairs, raters)
    return overall, by_group


def _pair_rows(totals, resampled, pairs, raters) -> list[PairAgreement]:
    """Rows from the total 2x2 tables (n_pairs, 4) and their resamples (n_boot, n_pairs, 4)."""
    values = metrics_from_counts(*np.moveaxis(totals, -1, 0))
    if resampled is None:
        cis = {m: np.full((len(pairs), 2), np.nan) for m in CI_METRICS}
    else:
        cis = intervals_from_resamples(resampled, CI_METRICS)
    result = []
    for p, (i, j) in enumerate(pairs):
        a, b, c, d = (int(x) for x in totals[p])
        result.append(
            PairAgreement(
                first=raters[i],
                second=raters[j],
                a=a,
                b=b,
                c=c,
                d=d,
                ci={m: (float(cis[m][p, 0]), float(cis[m][p, 1])) for m in CI_METRICS},
                **{m: (int(values[m][p]) if m == "n" else float(values[m][p])) for m in METRICS},
            )
        )
    return result
