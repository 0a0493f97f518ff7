"""Rows of the Ratings and Best-of tables for `export.TABLES` (header, rows; the level is
ignored). A study without such judgments gives the header and no rows. "Overall" stands
for all label sets or all layers, as in the pairwise table."""

from __future__ import annotations

OVERALL = "Overall"
ORDINAL = ["first", "second", "n", "kappa_linear", "kappa_quadratic", "spearman"]
ORDINAL += ["alpha_ordinal", "alpha_interval"]
PAIR = ["first", "second", "n", "percent", "iou", "kappa", "pabak", "ac1", "positive"]
PAIR += ["negative", "a", "b", "c", "d"]
CI = [f"{m}_ci_{end}" for m in ("percent", "iou", "kappa", "ac1") for end in ("low", "high")]


def _or_overall(name: str | None) -> str:
    return OVERALL if name is None else name


def ordinal_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    rows = (report.get("ratings") or {}).get("ordinal_agreement", [])
    return ["label_set", *ORDINAL], [[_or_overall(r["label_set"])] + [r[k] for k in ORDINAL]
                                     for r in rows]  # fmt: skip


def alpha_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["label_set", "raters", "labels", "alpha_ordinal", "alpha_interval"]
    rows = (report.get("ratings") or {}).get("alpha_all_raters", [])
    return header, [
        [_or_overall(r["label_set"]), " | ".join(r["raters"]), r["labels"]]
        + [r["alpha_ordinal"], r["alpha_interval"]]
        for r in rows
    ]


def mean_rating_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["label_set", "layer", "neurons", "ratings", "mean", "ci_low", "ci_high"]
    rows = (report.get("ratings") or {}).get("mean_ratings", [])
    return header, [
        [r["label_set"], _or_overall(r["layer"])]
        + [r[k] for k in ("neurons", "ratings", "mean", "low", "high")]
        for r in rows
    ]


def rating_rater_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["rater", "labels", "rated", "mean", "uninterpretable", "none_fits"]
    rows = (report.get("ratings") or {}).get("raters", [])
    return header, [[r[k] for k in header] for r in rows]


def binarised_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    """The binarised pairwise table: overall, per layer, per label set."""
    header = ["group", "threshold", *PAIR, *CI]
    section = report.get("ratings") or {}
    found = section.get("binarised") or {}
    groups = [("Overall", found.get("pairwise", []))]
    groups += [(f"layer {k}", v) for k, v in found.get("pairwise_by_layer", {}).items()]
    groups += [(f"label set {k}", v) for k, v in found.get("pairwise_by_label_set", {}).items()]
    return header, [
        [group, section["threshold"], *(p[k] for k in PAIR)]
        + [x for m in ("percent", "iou", "kappa", "ac1") for x in (p["ci"].get(m) or [None] * 2)]
        for group, pairs in groups
        for p in pairs
    ]


def win_rate_rows(report: dict, level: str = "") -> tuple[list[str], list[list]]:
    header = ["label_set", "wins", "answers", "rate", "ci_low", "ci_high"]
    rows = (report.get("best_of") or {}).get("win_rates", [])
    return header, [[r[k] for k in ("label_set", "wins", "answers", "rate", "low", "high")]
                    for r in rows]  # fmt: skip


RATING_TABLES = {
    "rating-raters": rating_rater_rows,
    "ordinal-agreement": ordinal_rows,
    "alpha-all-raters": alpha_rows,
    "mean-ratings": mean_rating_rows,
    "binarised-pairwise": binarised_rows,
    "win-rates": win_rate_rows,
}
