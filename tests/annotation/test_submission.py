"""Submissions: stored once per client id, all-or-nothing, skip/unclear kept, undo."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.submission import (
    SubmissionConflict,
    SubmissionError,
    do_submit_unit,
    do_undo_submission,
)
from annotate.models import Assignment, Submission, Unit
from evaluation.models import Judgment, Rater
from tests.helpers import answer_all, pairs_shown


@pytest.fixture
def unit(study, annotators):
    return access_next_unit(annotators["alice"], study, prefetch=0)["units"][0]


def test_judgments_are_stored_under_the_annotators_rater(study, annotators, unit):
    alice = annotators["alice"]
    args = answer_all(unit, "no")
    first = unit["images"][0]["id"]
    args["answers"][first] = "yes"
    do_submit_unit(alice, study, **args)
    rater = Rater.objects.get(user=alice)
    assert rater.kind == "human"
    stored = dict(Judgment.objects.filter(rater=rater).values_list("neuron_image_id", "verdict"))
    pairs = pairs_shown(alice, unit)
    assert stored == {pairs[i]: v for i, v in args["answers"].items()}
    assert set(Judgment.objects.values_list("submission", flat=True)) == {args["client_id"]}
    positions = dict(Judgment.objects.values_list("neuron_image_id", "extra__position"))
    assert positions == {pairs[i]: n for n, i in enumerate(args["order_shown"], start=1)}
    sub = Submission.objects.get()
    assert (sub.order_shown, sub.ms_spent) == ([pairs[i] for i in args["order_shown"]], 1500)
    assert Unit.objects.get(pk=unit["neuron"]).done == 1


def test_the_same_client_id_twice_is_stored_once(study, annotators, unit):
    args = answer_all(unit)
    first = do_submit_unit(annotators["alice"], study, **args)
    again = do_submit_unit(annotators["alice"], study, **args)
    assert (
        first
        == again
        == {
            "client_id": str(args["client_id"]),
            "neuron": unit["neuron"],
            "stored": Submission.objects.get().created.isoformat(),
        }
    )
    assert Judgment.objects.count() == 3 and Unit.objects.get(pk=unit["neuron"]).done == 1


def test_a_second_answer_to_the_same_unit_is_refused(study, annotators, unit):
    do_submit_unit(annotators["alice"], study, **answer_all(unit))
    with pytest.raises(SubmissionConflict):
        do_submit_unit(annotators["alice"], study, **answer_all(unit, "no"))
    assert set(Judgment.objects.values_list("verdict", flat=True)) == {"yes"}


def test_a_client_id_of_someone_else_is_refused(study, annotators, unit):
    args = answer_all(unit)
    do_submit_unit(annotators["alice"], study, **args)
    bob_unit = access_next_unit(annotators["bob"], study, prefetch=0)["units"][0]
    with pytest.raises(SubmissionConflict):
        do_submit_unit(
            annotators["bob"], study, **{**answer_all(bob_unit), "client_id": args["client_id"]}
        )
    assert not Judgment.objects.filter(rater__user=annotators["bob"]).exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a["answers"].popitem(), "cover each image"),
        (lambda a: a["answers"].update({"0123456789abcdef": "yes"}), "cover each image"),
        (lambda a: a["answers"].update({next(iter(a["answers"])): "maybe"}), "Unknown verdicts"),
        (lambda a: a.update(order_shown=a["order_shown"][:1]), "order_shown"),
        (lambda a: a.update(ms_spent=-5), "ms_spent"),
        (lambda a: a.update(client_id="not-a-uuid"), "UUID"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(study, annotators, unit, change, message):
    args = answer_all(unit)
    change(args)
    with pytest.raises(SubmissionError, match=message):
        do_submit_unit(annotators["alice"], study, **args)
    assert not Submission.objects.exists() and not Judgment.objects.exists()
    assert Unit.objects.get(pk=unit["neuron"]).done == 0


def test_a_unit_not_given_to_the_annotator_is_refused(study, annotators, unit):
    with pytest.raises(SubmissionError, match="not given to you"):
        do_submit_unit(annotators["bob"], study, **answer_all(unit))
    assert not Judgment.objects.exists()


def test_skip_and_unclear_are_stored_as_verdicts(study, annotators):
    alice = annotators["alice"]
    units = access_next_unit(alice, study, prefetch=1)["units"]
    do_submit_unit(alice, study, **answer_all(units[0], "skip"))
    do_submit_unit(alice, study, **answer_all(units[1], "unclear"))
    verdicts = sorted(Judgment.objects.values_list("verdict", flat=True))
    assert verdicts == ["skip"] * 3 + ["unclear"] * 3


def test_undo_gives_the_unit_back_with_its_answers(study, annotators, unit):
    alice = annotators["alice"]
    args = answer_all(unit, "no")
    do_submit_unit(alice, study, **args)
    result = do_undo_submission(alice, study, args["client_id"])
    assert result == {
        "undone": str(args["client_id"]),
        "neuron": unit["neuron"],
        "answers": {i: "no" for i in args["answers"]},
        "unit": unit,  # as shown, so the page can show it again with these answers
    }
    assert not Judgment.objects.exists() and not Submission.objects.exists()
    assert Unit.objects.get(pk=unit["neuron"]).done == 0
    assert access_next_unit(alice, study, prefetch=0)["units"][0]["neuron"] == unit["neuron"]
    do_submit_unit(alice, study, **answer_all(unit, "yes"))
    assert set(Judgment.objects.values_list("verdict", flat=True)) == {"yes"}


def test_any_recent_answer_can_be_changed_but_not_a_late_one_or_anothers(study, annotators):
    alice = annotators["alice"]
    units = access_next_unit(alice, study, prefetch=1)["units"]
    first, second = answer_all(units[0]), answer_all(units[1])
    do_submit_unit(alice, study, **first)
    do_submit_unit(alice, study, **second)
    with pytest.raises(SubmissionError, match="your own"):
        do_undo_submission(annotators["bob"], study, second["client_id"])
    assert do_undo_submission(alice, study, first["client_id"])["neuron"] == units[0]["neuron"]
    Submission.objects.update(created=timezone.now() - timedelta(minutes=10))
    with pytest.raises(SubmissionError, match="seconds only"):
        do_undo_submission(alice, study, second["client_id"])
    assert Judgment.objects.count() == 3
    states = dict(Assignment.objects.values_list("unit_id", "state"))
    assert states == {units[0]["neuron"]: "open", units[1]["neuron"]: "done"}
    assert uuid.UUID(str(second["client_id"]))


def test_an_image_named_twice_under_two_ids_is_refused(study, annotators, unit):
    alice = annotators["alice"]
    args = answer_all(unit)
    first = unit["images"][0]["id"]
    args["answers"][str(pairs_shown(alice, unit)[first])] = "no"  # the same pair by its raw id
    with pytest.raises(SubmissionError, match="cover each image"):
        do_submit_unit(alice, study, **args)
    assert not Judgment.objects.exists()


def test_an_answer_queued_before_ids_were_opaque_is_still_stored(study, annotators, unit):
    alice = annotators["alice"]
    pairs = pairs_shown(alice, unit)
    args = answer_all(unit, "no")
    args["answers"] = {str(pairs[i]): v for i, v in args["answers"].items()}
    args["order_shown"] = [pairs[i] for i in args["order_shown"]]
    do_submit_unit(alice, study, **args)
    assert dict(Judgment.objects.values_list("neuron_image_id", "verdict")) == {
        pair: "no" for pair in pairs.values()
    }
