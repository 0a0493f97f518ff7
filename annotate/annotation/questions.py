"""The neuron-level questions: a 1-5 rating of one label (`label_rating`), or the best of a
unit's label sets' labels (`best_of`), each asked with the unit's images shown together.

Answers are stored as LabelJudgment rows of the annotator's human rater, one per submission.
A best-of unit is its first label set's neuron (annotate.annotation.units); its labels are
shown in an order of the lease's own under opaque ids, so no label set can be told apart.
"""

import random

from django.db import connection

from annotate.annotation.image_ids import label_id
from annotate.models import Study
from evaluation.models import LabelJudgment

NEURON_LEVEL = (Study.QuestionType.LABEL_RATING, Study.QuestionType.BEST_OF)
RATINGS = range(1, 6)
LABEL_ANSWER_KEYS = ("rating", "uninterpretable", "chosen", "none_fits")


class AnswerError(ValueError):
    """The answer does not fit the study's question; nothing was stored."""


LABELS_SQL = """
SELECT k.id, o.id, o.label FROM annotate_neuron k
JOIN annotate_neuron o ON o.study_id = k.study_id AND o.role = 'real'
 AND o.layer = k.layer AND o.unit = k.unit
WHERE k.id = ANY (%s) AND o.label <> ''
ORDER BY o.label_set_id, o.id
"""


def unit_labels(neuron_ids) -> dict[int, list[tuple[int, str]]]:
    """Each best-of unit's labels as (neuron id, label), one per label set."""
    labels: dict[int, list[tuple[int, str]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(LABELS_SQL, [list(neuron_ids)])
        for unit, neuron, label in cursor.fetchall():
            labels.setdefault(unit, []).append((neuron, label))
    return labels


def labels_in_order(lease_id: int, labels: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The order this lease shows the labels in: random, the same on every request.

    A label that several label sets gave is shown once, under whichever of their neurons the
    shuffle put first, so a choice of it credits each of them as often.
    """
    shuffled = sorted(labels)
    random.Random(f"labels:{lease_id}").shuffle(shuffled)
    shown, seen = [], set()
    for neuron, label in shuffled:
        if same_label(label) not in seen:
            seen.add(same_label(label))
            shown.append((neuron, label))
    return shown


def same_label(label: str) -> str:
    return " ".join(label.split()).casefold()


def with_labels(units: list[tuple[int, dict]]) -> list[dict]:
    """Best-of unit payloads from (lease id, unit payload): the unit's own label goes, its
    label sets' labels come under opaque ids."""
    labels = unit_labels([unit["neuron"] for _, unit in units])
    shown = []
    for lease_id, unit in units:
        unit = {key: value for key, value in unit.items() if key != "label"}
        order = labels_in_order(lease_id, labels.get(unit["neuron"], []))
        unit["labels"] = [{"id": label_id(lease_id, n), "label": text} for n, text in order]
        shown.append(unit)
    return shown


def check_rating(rating, uninterpretable) -> dict:
    """A rating 1..5, or none with the label marked uninterpretable."""
    if not isinstance(uninterpretable, bool | None):
        raise AnswerError("uninterpretable must be true or false.")
    if uninterpretable:
        if rating is not None:
            raise AnswerError("Give a rating or mark the label uninterpretable, not both.")
        return {"rating": None, "uninterpretable": True}
    if isinstance(rating, bool) or rating not in RATINGS:
        raise AnswerError("rating must be a whole number from 1 to 5 (or uninterpretable).")
    return {"rating": int(rating), "uninterpretable": False}


def check_choice(lease_id: int, neuron_id: int, chosen, none_fits) -> dict:
    """One of the unit's labels by the opaque id it was shown under, or none fits."""
    if not isinstance(none_fits, bool | None):
        raise AnswerError("none_fits must be true or false.")
    labels = unit_labels([neuron_id]).get(neuron_id, [])
    shown = [n for n, _ in labels_in_order(lease_id, labels)]
    if none_fits:
        if chosen is not None:
            raise AnswerError("Choose a label or say none fits, not both.")
        return {"chosen": None, "none_fits": True, "extra": {"labels_shown": shown}}
    lookup = {label_id(lease_id, n): n for n in shown}
    if not isinstance(chosen, str) or chosen not in lookup:
        raise AnswerError("chosen must be the id of one of the unit's labels (or none_fits).")
    pick = lookup[chosen]
    extra = {"labels_shown": shown, "position": shown.index(pick) + 1}
    text = same_label(dict(labels)[pick])
    twins = [n for n, label in labels if n != pick and same_label(label) == text]
    if twins:
        extra["same_label"] = twins  # other label sets' neurons with this very label
    return {"chosen": pick, "none_fits": False, "extra": extra}


def check_label_answer(study: Study, lease_id: int, neuron_id: int, answer: dict) -> dict:
    """The LabelJudgment fields for one answer to the study's question."""
    if study.question_type == Study.QuestionType.LABEL_RATING:
        fields = check_rating(answer.get("rating"), answer.get("uninterpretable"))
        return {**fields, "none_fits": False, "chosen": None, "extra": {}}
    fields = check_choice(lease_id, neuron_id, answer.get("chosen"), answer.get("none_fits"))
    return {**fields, "rating": None, "uninterpretable": False}


def shown_answer(study: Study, lease_id: int, judgment: LabelJudgment | None) -> dict:
    """An answer as the annotator gave it: the rating, or the chosen label's opaque id."""
    if study.question_type == Study.QuestionType.LABEL_RATING:
        if judgment is None:
            return {"rating": None, "uninterpretable": False}
        return {"rating": judgment.rating, "uninterpretable": judgment.uninterpretable}
    chosen = judgment.chosen_id if judgment is not None else None
    return {
        "chosen": label_id(lease_id, chosen) if chosen else None,
        "none_fits": bool(judgment and judgment.none_fits),
    }
