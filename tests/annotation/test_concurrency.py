"""Many annotators asking and submitting at once, each thread on its own connection."""

import threading
import uuid

import pytest
from django.db import connection

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import do_create_invite, do_join_study
from annotate.annotation.submission import do_submit_unit
from annotate.models import AnnotationSettings, Assignment, Submission, Unit
from evaluation.models import Judgment
from tests.helpers import answer_all

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(count: int, work) -> list[BaseException]:
    """Run `work(i)` in `count` threads released together; returns what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i):
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_many_annotators_at_once_lose_nothing_and_double_nothing(
    make_study, staff, django_user_model
):
    study = make_study("crowded", neurons=12, k=2)
    AnnotationSettings.objects.create(study=study, gold_rate=0)
    invite = do_create_invite(study, staff)
    users = [django_user_model.objects.create_user(f"a{i}") for i in range(10)]
    for user in users:
        do_join_study(user, invite)
    sent: list[str] = []

    def annotate(i):
        while units := access_next_unit(users[i], study, prefetch=1)["units"]:
            args = answer_all(units[0])
            do_submit_unit(users[i], study, **args)
            sent.append(args["client_id"])

    assert run_at_once(len(users), annotate) == []
    assert len(sent) == 12 * study.overlap  # every unit got exactly R annotators
    assert sorted(Submission.objects.values_list("client_id", flat=True)) == sorted(sent)
    assert Judgment.objects.count() == 2 * len(sent)
    assert set(Unit.objects.values_list("claimed", "done")) == {(3, 3)}
    assert Assignment.objects.exclude(state="done").count() == 0


def test_the_same_submission_sent_at_once_is_stored_once(make_study, staff, annotators):
    study = make_study("doubled", neurons=2, k=3)
    do_join_study(annotators["alice"], do_create_invite(study, staff))
    unit = access_next_unit(annotators["alice"], study, prefetch=0)["units"][0]
    args = answer_all(unit)
    responses = []
    errors = run_at_once(
        6, lambda i: responses.append(do_submit_unit(annotators["alice"], study, **args))
    )
    assert errors == [] and len(responses) == 6
    assert all(r == responses[0] for r in responses)
    assert Judgment.objects.filter(submission=uuid.UUID(str(args["client_id"]))).count() == 3
    assert Unit.objects.get(pk=unit["neuron"]).done == 1
