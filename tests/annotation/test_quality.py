"""Gold units, distractors and the per-annotator accuracy the agreement figures use."""

import pytest

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.progress import annotator_rows
from annotate.annotation.quality import (
    GoldError,
    do_add_distractors,
    do_make_gold_units,
    excluded_rater_ids,
    gold_accuracy,
)
from annotate.annotation.submission import do_submit_unit
from annotate.models import GoldAnswer, Invite, NeuronImage, Unit
from evaluation.models import Rater
from tests.helpers import answer_all, configure


def test_gold_units_from_layer_and_unit_keys(study):
    made = do_make_gold_units(
        study, {("layer1", 0): True, ("layer1", 1): {1: "no", 2: "yes", 3: "no"}}
    )
    assert made == 2
    assert set(Unit.objects.filter(is_gold=True).values_list("neuron__unit", flat=True)) == {0, 1}
    answers = GoldAnswer.objects.filter(neuron_image__neuron__unit=1).order_by("neuron_image__rank")
    assert [a.answer for a in answers] == ["no", "yes", "no"]


@pytest.mark.parametrize(
    "answers, message",
    [
        ({("layer1", 99): True}, "No real neuron"),
        ({("layer1", 0): "maybe"}, "gold answer"),
        ({("layer1", 0): True, ("layer1", 1): {1: "no"}}, "rank 2"),
    ],
)
def test_bad_gold_answers_change_nothing(study, answers, message):
    with pytest.raises(GoldError, match=message):
        do_make_gold_units(study, answers)
    assert not GoldAnswer.objects.exists() and not Unit.objects.filter(is_gold=True).exists()


def test_gold_is_mixed_in_at_the_rate_and_scored(study, annotators):
    do_make_gold_units(study, {("layer1", 0): True})
    configure(study, gold_rate=0.5)
    alice, bob = annotators["alice"], annotators["bob"]
    for user, verdict in ((alice, "yes"), (bob, "no")):
        served = []
        while units := access_next_unit(user, study, prefetch=0)["units"]:
            served.append(units[0]["neuron"])
            do_submit_unit(user, study, **answer_all(units[0], verdict))
        gold_id = Unit.objects.get(is_gold=True).pk
        assert served[1] == gold_id and len(served) == 6  # 5 regular units and the gold one
    raters = {u: Rater.objects.get(user=annotators[u]).pk for u in ("alice", "bob")}
    assert gold_accuracy(study) == {raters["alice"]: 1.0, raters["bob"]: 0.0}
    assert excluded_rater_ids(study, 0.7) == {raters["bob"]}
    assert excluded_rater_ids(study) == {raters["bob"]}  # the study's bar, 0.7 by default
    assert excluded_rater_ids(study, 0.0) == set()
    rows = {row["username"]: row for row in annotator_rows(study, 0.7)}
    assert rows["alice"] | {"last": None, "joined": None} == {
        "username": "alice",
        "platform": "Account",
        "completion_code": "",
        "submitted": 6,
        "in_progress": 0,
        "joined": None,
        "invite": Invite.objects.get(study=study).pk,
        "last": None,
        "median_seconds": 1.5,
        "gold_answered": 3,
        "gold_accuracy": 1.0,
        "excluded": False,
    }
    assert rows["bob"]["excluded"] and rows["bob"]["gold_accuracy"] == 0.0


def test_distractors_are_known_noes_from_other_neurons(study, annotators):
    assert do_add_distractors(study, 0.5, seed=1) == 3
    distractors = NeuronImage.objects.filter(is_distractor=True).select_related("neuron")
    for d in distractors:
        assert d.rank == 4
        assert not d.neuron.images.filter(is_distractor=False, image=d.image).exists()
    alice = annotators["alice"]
    rater_scores = []
    while units := access_next_unit(alice, study, prefetch=0)["units"]:
        do_submit_unit(alice, study, **answer_all(units[0], "yes"))
    rater_scores.append(gold_accuracy(study)[Rater.objects.get(user=alice).pk])
    assert rater_scores == [0.0]
    with pytest.raises(GoldError):
        do_add_distractors(study, 1.5)
