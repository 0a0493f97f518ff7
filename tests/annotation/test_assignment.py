"""Next unit: fewest claims first, overlap R, never twice, leases that expire, quota."""

from datetime import timedelta

from django.utils import timezone

from annotate.annotation.assignment import access_next_unit, do_expire_leases
from annotate.annotation.members import do_join_study
from annotate.annotation.submission import do_submit_unit
from annotate.models import Assignment, Invite, Unit
from tests.helpers import answer_all, configure


def work_through(user, study) -> list[int]:
    """Take and answer units until none is left; returns the neurons in the order seen."""
    seen = []
    while units := access_next_unit(user, study, prefetch=0)["units"]:
        seen.append(units[0]["neuron"])
        do_submit_unit(user, study, **answer_all(units[0]))
    return seen


def test_next_gives_the_unit_with_fewest_claims(study, annotators):
    alice, bob = annotators["alice"], annotators["bob"]
    first = access_next_unit(alice, study, prefetch=0)["units"][0]["neuron"]
    assert access_next_unit(bob, study, prefetch=0)["units"][0]["neuron"] != first
    assert Unit.objects.get(pk=first).claimed == 1


def test_reload_shows_the_same_unit_and_prefetch_adds_one(study, annotators):
    alice = annotators["alice"]
    one = access_next_unit(alice, study, prefetch=0)["units"]
    two = access_next_unit(alice, study, prefetch=1)["units"]
    assert [u["neuron"] for u in two][:1] == [one[0]["neuron"]]
    assert len(two) == 2 and len({u["neuron"] for u in two}) == 2
    assert len(two[0]["images"]) == 3 and two[0]["label"].startswith("concept")


def test_each_unit_gets_overlap_annotators_and_nobody_twice(study, annotators, django_user_model):
    study.overlap = 2
    study.save()
    invite = Invite.objects.get(study=study)
    extra = django_user_model.objects.create_user("dave")
    do_join_study(extra, invite)
    seen = {name: work_through(annotators[name], study) for name in ("alice", "bob")}
    seen["dave"] = work_through(extra, study)
    assert all(len(s) == len(set(s)) for s in seen.values())
    assert len(seen["alice"]) == len(seen["bob"]) == 6 and seen["dave"] == []
    assert set(Unit.objects.filter(study=study).values_list("done", "claimed")) == {(2, 2)}
    progress = access_next_unit(extra, study)["progress"]
    assert progress == {
        "done": 0,
        "quota": None,
        "left": None,
        "finished": True,
        "no_work_left": True,
    }


def test_an_expired_lease_gives_its_claim_back(study, annotators):
    study.overlap = 1
    study.save()
    alice, bob = annotators["alice"], annotators["bob"]
    unit = access_next_unit(alice, study, prefetch=0)["units"][0]
    Assignment.objects.filter(annotator=alice).update(expires=timezone.now() - timedelta(1))
    assert do_expire_leases(study) == 1
    assert Unit.objects.get(pk=unit["neuron"]).claimed == 0
    assert unit["neuron"] in work_through(bob, study)
    # alice's late answer is kept: the unit passes R by the one that was in flight
    do_submit_unit(alice, study, **answer_all(unit))
    assert Unit.objects.get(pk=unit["neuron"]).done == 2


def test_quota_ends_with_the_completion_code(study, annotators):
    configure(study, quota=2)
    study.annotators.filter(user=annotators["alice"]).update(completion_code="C0DE42")
    alice = annotators["alice"]
    assert len(work_through(alice, study)) == 2
    assert access_next_unit(alice, study)["progress"] == {
        "done": 2,
        "quota": 2,
        "left": 0,
        "finished": True,
        "completion_code": "C0DE42",
    }


def test_shuffled_order_is_stable_per_lease(study, annotators):
    configure(study, shuffle_images=True)
    alice = annotators["alice"]
    orders = {
        tuple(i["id"] for i in access_next_unit(alice, study)["units"][0]["images"])
        for _ in range(3)
    }
    assert len(orders) == 1
