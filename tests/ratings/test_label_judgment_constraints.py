"""The database keeps label judgments whole: ratings 1-5, one per rater and label, one
best-of answer per rater and unit, a choice among the unit's own labels."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from annotate.models import LabelSet, Neuron, Study
from evaluation.models import LabelJudgment, Rater

pytestmark = pytest.mark.django_db
RATING, BEST_OF = LabelJudgment.Question.LABEL_RATING, LabelJudgment.Question.BEST_OF


@pytest.fixture
def unit():
    """Study s, unit layer1:0 labelled by label sets A and B, and unit layer1:1 by A."""
    study = Study.objects.create(name="s", target_network="n", probe_dataset="p")
    a = LabelSet.objects.create(study=study, name="A")
    b = LabelSet.objects.create(study=study, name="B")
    return {
        "study": study,
        "a0": Neuron.objects.create(study=study, label_set=a, layer="layer1", unit=0, label="x"),
        "b0": Neuron.objects.create(study=study, label_set=b, layer="layer1", unit=0, label="y"),
        "a1": Neuron.objects.create(study=study, label_set=a, layer="layer1", unit=1, label="z"),
    }


@pytest.fixture
def rater():
    user = get_user_model().objects.create_user("alice")
    return Rater.objects.create(name="human:alice", kind="human", user=user)


def refused(**fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        LabelJudgment.objects.create(**fields)


def test_ratings_are_1_to_5_and_blank_only_with_a_reason(unit, rater):
    for rating in (0, 6):
        refused(rater=rater, neuron=unit["a0"], question=RATING, rating=rating)
    refused(rater=rater, neuron=unit["a0"], question=RATING)
    blank = LabelJudgment.objects.create(
        rater=rater, neuron=unit["a0"], question=RATING, uninterpretable=True
    )
    assert blank.rating is None
    refused(rater=rater, neuron=unit["b0"], question=RATING, rating=3, chosen=unit["b0"])


def test_one_rating_per_rater_and_label(unit, rater):
    LabelJudgment.objects.create(rater=rater, neuron=unit["a0"], question=RATING, rating=4)
    refused(rater=rater, neuron=unit["a0"], question=RATING, rating=2)
    LabelJudgment.objects.create(rater=rater, neuron=unit["b0"], question=RATING, rating=2)
    assert LabelJudgment.objects.count() == 2


def test_the_trigger_copies_the_unit_whatever_the_writer_sends(unit, rater):
    judgment = LabelJudgment.objects.create(
        rater=rater, neuron=unit["a1"], question=RATING, rating=5, layer="nope", unit=99
    )
    judgment.refresh_from_db()
    assert (judgment.study_id, judgment.layer, judgment.unit) == (unit["study"].pk, "layer1", 1)


def test_one_best_of_answer_per_rater_and_unit(unit, rater):
    LabelJudgment.objects.create(
        rater=rater, neuron=unit["a0"], question=BEST_OF, chosen=unit["b0"]
    )
    # Asked again from the unit's other label set: still the same unit.
    refused(rater=rater, neuron=unit["b0"], question=BEST_OF, none_fits=True)
    LabelJudgment.objects.create(rater=rater, neuron=unit["a1"], question=BEST_OF, none_fits=True)


def test_a_best_of_answer_is_one_of_the_units_labels_or_none(unit, rater):
    wrong_unit = pytest.raises(IntegrityError, match="is not a label of unit layer1:0")
    with wrong_unit, transaction.atomic():
        LabelJudgment.objects.create(
            rater=rater, neuron=unit["a0"], question=BEST_OF, chosen=unit["a1"]
        )
    refused(rater=rater, neuron=unit["a0"], question=BEST_OF)
    refused(rater=rater, neuron=unit["a0"], question=BEST_OF, chosen=unit["b0"], none_fits=True)
    refused(rater=rater, neuron=unit["a0"], question=BEST_OF, chosen=unit["b0"], rating=4)
    refused(rater=rater, neuron=unit["a0"], question="pair_yes_no", rating=4)


def test_a_raw_insert_is_checked_too(unit, rater):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO evaluation_labeljudgment (rater_id, neuron_id, question, rating,"
            " uninterpretable, none_fits, chosen_id, extra, created, layer)"
            " VALUES (%s, %s, 'best_of', NULL, false, false, %s, '{}', now(), '')",
            [rater.pk, unit["a0"].pk, unit["a1"].pk],
        )
    assert not LabelJudgment.objects.exists()
