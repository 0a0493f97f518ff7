"""A study's label judgments as the long tables `evaluation.agreement.ordinal` takes."""

from __future__ import annotations

import pandas as pd

from annotate.models import Study
from evaluation.agreement.ordinal import CHOICE_COLUMNS, RATING_COLUMNS
from evaluation.models import LabelJudgment


def rating_table(study: Study) -> pd.DataFrame:
    """One row per (rater, label) rated: rater (name), neuron (id), label_set (name), layer,
    unit, rating (1-5, nan when the rater gave none), uninterpretable, none_fits."""
    rows = (
        LabelJudgment.objects.filter(study=study, question=LabelJudgment.Question.LABEL_RATING)
        .order_by("rater__name", "neuron_id")
        .values_list(
            "rater__name",
            "neuron_id",
            "neuron__label_set__name",
            "layer",
            "unit",
            "rating",
            "uninterpretable",
            "none_fits",
        )
    )
    table = pd.DataFrame(list(rows), columns=list(RATING_COLUMNS))
    table["rating"] = pd.to_numeric(table["rating"], errors="coerce").astype(float)
    return table


def choice_table(study: Study) -> pd.DataFrame:
    """One row per (rater, unit) of best-of answers: rater, layer, unit, chosen (the chosen
    label's label set name, None when none fits), none_fits, uninterpretable."""
    rows = (
        LabelJudgment.objects.filter(study=study, question=LabelJudgment.Question.BEST_OF)
        .order_by("rater__name", "layer", "unit")
        .values_list(
            "rater__name", "layer", "unit", "chosen__label_set__name", "none_fits",
            "uninterpretable",
        )
    )  # fmt: skip
    rows = list(rows)
    table = pd.DataFrame(rows, columns=list(CHOICE_COLUMNS))
    # An object column, so "none chosen" stays None (a string column would make it nan).
    table["chosen"] = pd.Series([row[3] for row in rows], dtype=object)
    return table
