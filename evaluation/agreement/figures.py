"""Every agreement figure of a study, assembled from its long judgment table in one call.

Plain maths: the report package (`evaluation.reports`) reads the table and the options and
passes them in; nothing here knows Django.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.agreement.by_reference import (
    ReferenceRow,
    YesRateRow,
    reference_rows,
    yes_rates,
)
from evaluation.agreement.calibration import CalibrationCurve, has_scores, sweep
from evaluation.agreement.consensus import (
    DAWID_SKENE,
    MAJORITY,
    REFERENCES,
    AnnotatorReliability,
    build_consensus,
)
from evaluation.agreement.disagreement import NeuronDisagreement, most_disputed
from evaluation.agreement.label_set_comparison import (
    LabelSetShares,
    PairedDifference,
    compare_label_sets,
)
from evaluation.agreement.multi import MultiRaterAgreement, multi_rater_agreement
from evaluation.agreement.neuron_level import neuron_votes
from evaluation.agreement.pairwise import (
    DEFINITIONS,
    PairAgreement,
    pairwise_overall_and_by_group,
    shared_resamples,
)
from evaluation.agreement.ratings import MISSING, Ratings, build_ratings
from evaluation.agreement.sanity_checks import SanityRow, sanity_table

HUMAN = "human"
CONSENSUS = "consensus"
DISPUTED_LIMIT = 50


@dataclass(frozen=True)
class FigureSettings:
    """What the figures depend on besides the table; `evaluation.reports.options` checks and
    fills them from a report's options."""

    rule: str  # a neuron's label is correct when any / majority / all of its k images match
    reference: str  # a key of REFERENCES: the human consensus models are compared with
    n_boot: int
    seed: int
    excluded: frozenset[str] = frozenset()  # annotators left out of the consensus


@dataclass(frozen=True)
class RaterSummary:
    name: str
    kind: str
    items: int  # pairs judged yes or no
    yes_rate: float
    scored: bool  # carries a continuous score (calibration possible)


@dataclass
class LevelReport:
    """Figures at one level: "pair" (neuron, image) or "neuron" (label correct or not)."""

    level: str
    units: int
    pairwise: list[PairAgreement]
    pairwise_by_layer: dict[str, list[PairAgreement]]
    multi: dict[str, MultiRaterAgreement]  # "all", "humans", "models"
    by_layer: list[ReferenceRow]
    yes_rates: list[YesRateRow]


@dataclass
class AgreementFigures:
    raters: list[RaterSummary]
    layers: list[str]
    reference: str | None
    pair: LevelReport
    neuron: LevelReport
    reliability: list[AnnotatorReliability]
    calibration: list[CalibrationCurve]
    sanity: list[SanityRow]
    disputed: list[NeuronDisagreement]
    label_sets: list[LabelSetShares] = field(default_factory=list)
    label_set_comparison: list[PairedDifference] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))

    def to_dict(self) -> dict:
        """Plain JSON-ready data; NaN and infinities become None.

        A round trip through the C json encoder and decoder: ten times faster than walking
        the dataclasses in Python (dataclasses.asdict deep-copies every leaf), which took a
        fifth of the report's time.
        """
        text = json.dumps(self, default=_encode_leaf)
        return json.loads(text, parse_constant=lambda _: None)


def _encode_leaf(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot put {type(value).__name__} in a report")


def _multi(
    votes: np.ndarray, raters: list[str], kinds: dict[str, str]
) -> dict[str, MultiRaterAgreement]:
    humans = [i for i, r in enumerate(raters) if kinds.get(r) == HUMAN]
    models = [i for i, r in enumerate(raters) if kinds.get(r) not in (HUMAN, CONSENSUS)]
    real = humans + models
    groups = {"all": sorted(real), "humans": humans, "models": models}
    return {
        name: multi_rater_agreement(votes[:, cols], [raters[i] for i in cols])
        for name, cols in groups.items()
        if len(cols) >= 2
    }


def _level(level, votes, ratings, units, unit_layer, kinds, ref_col, settings) -> LevelReport:
    raters = ratings.raters
    overall, per_layer = pairwise_overall_and_by_group(
        votes, raters, units, unit_layer, ratings.layers, settings.n_boot, settings.seed
    )
    by_layer = [] if ref_col is None else reference_rows(overall, per_layer, raters[ref_col])
    return LevelReport(
        level=level,
        units=int(len(votes)),
        pairwise=overall,
        pairwise_by_layer=per_layer,
        multi=_multi(votes, raters, kinds),
        by_layer=by_layer,
        yes_rates=yes_rates(
            votes, raters, units, unit_layer, ratings.layers, settings.n_boot, settings.seed
        ),
    )


def _add_consensus(
    ratings: Ratings,
    kinds: dict[str, str],
    settings: FigureSettings,
    gold: dict[str, tuple[float, int]] | None,
) -> tuple[Ratings, list[AnnotatorReliability], str | None]:
    humans = [r for r in ratings.raters if kinds.get(r) == HUMAN]
    if not humans:
        return ratings, [], None
    cols = [ratings.column(r) for r in humans]
    consensus = build_consensus(
        ratings.votes[:, cols], humans, gold=gold, excluded=set(settings.excluded)
    )
    if (consensus.majority == MISSING).all():
        return ratings, consensus.reliability, None
    ratings = ratings.with_rater(MAJORITY, consensus.majority)
    ratings = ratings.with_rater(DAWID_SKENE, consensus.dawid_skene, consensus.dawid_skene_p_yes)
    kinds[MAJORITY] = kinds[DAWID_SKENE] = CONSENSUS
    reference = REFERENCES[settings.reference]
    return ratings, consensus.reliability, reference


def _calibration(ratings: Ratings, kinds, reference: str | None) -> list[CalibrationCurve]:
    if reference is None:
        return []
    ref = ratings.votes[:, ratings.column(reference)]
    layer_of_item = ratings.neuron_layer[ratings.item_neuron]
    curves = []
    for i, rater in enumerate(ratings.raters):
        if kinds.get(rater) in (HUMAN, CONSENSUS):
            continue
        judged = ratings.votes[:, i] != MISSING
        if not judged.any() or not has_scores(ratings.scores[judged, i]):
            continue
        curve = sweep(
            rater,
            ratings.scores[:, i],
            ratings.votes[:, i],
            ref,
            reference,
            layer_of_item,
            ratings.layers,
        )
        if curve is not None:
            curves.append(curve)
    return curves


def _summaries(ratings: Ratings, kinds: dict[str, str]) -> list[RaterSummary]:
    out = []
    for i, rater in enumerate(ratings.raters):
        col = ratings.votes[:, i]
        judged = col != MISSING
        out.append(
            RaterSummary(
                name=rater,
                kind=kinds.get(rater, ""),
                items=int(judged.sum()),
                yes_rate=float((col[judged] == 1).mean()) if judged.any() else float("nan"),
                scored=bool(judged.any() and has_scores(ratings.scores[judged, i])),
            )
        )
    return out


def agreement_figures(
    table: pd.DataFrame,
    kinds: dict[str, str],
    settings: FigureSettings,
    gold: dict[str, tuple[float, int]] | None = None,
    layer_order: list[str] | None = None,
    rater_order: list[str] | None = None,
) -> AgreementFigures:
    """`table`: rater, neuron, layer, item, verdict, score and role (real or a probe role).

    `kinds` maps rater name to its kind ("human", "openclip_es", ...). Agreement uses real
    neurons only; probe neurons feed the sanity table.
    """
    kinds = dict(kinds)
    roles = table["role"] if "role" in table.columns else pd.Series("real", index=table.index)
    real = table[roles == "real"]
    sanity = sanity_table(table.assign(role=roles)) if (roles != "real").any() else []
    ratings = build_ratings(real, rater_order=rater_order, layer_order=layer_order)
    ratings, reliability, reference = _add_consensus(ratings, kinds, settings, gold)
    ref_col = ratings.column(reference) if reference else None
    n_votes = neuron_votes(ratings.votes, ratings.item_neuron, len(ratings.neurons), settings.rule)
    neuron_ids = np.arange(len(ratings.neurons))
    with shared_resamples():  # both levels resample the same neurons of each layer
        pair = _level(
            "pair",
            ratings.votes,
            ratings,
            ratings.item_neuron,
            ratings.neuron_layer,
            kinds,
            ref_col,
            settings,
        )
        neuron = _level(
            "neuron", n_votes, ratings, neuron_ids, ratings.neuron_layer, kinds, ref_col, settings
        )
    label_sets, comparison = compare_label_sets(
        real, ratings.neurons, n_votes, ratings.raters, ratings.neuron_layer, ratings.layers,
        settings.n_boot, settings.seed,
    )  # fmt: skip
    real_cols = [i for i, r in enumerate(ratings.raters) if kinds.get(r) != CONSENSUS]
    disputed = most_disputed(
        ratings.votes[:, real_cols],
        ratings.item_neuron,
        ratings.neurons,
        ratings.neuron_layer,
        ratings.layers,
        DISPUTED_LIMIT,
    )
    return AgreementFigures(
        raters=_summaries(ratings, kinds),
        layers=ratings.layers,
        reference=reference,
        pair=pair,
        neuron=neuron,
        reliability=reliability,
        calibration=_calibration(ratings, kinds, reference),
        sanity=sanity,
        disputed=disputed,
        label_sets=label_sets,
        label_set_comparison=comparison,
    )
