"""Invite links and annotators through the API: create, list and revoke a study's invites
(a revoked link stops working), and list its annotators with their progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import do_create_invite, do_join_study
from annotate.annotation.quality import do_make_gold_units
from annotate.annotation.submission import do_submit_unit
from annotate.models import AnnotationSettings, Invite, StudyAnnotator
from tests.helpers import answer_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(make_study):
    study = make_study("invited", neurons=4, k=2)
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0.5)
    return study


def invites_url(study) -> str:
    return f"/api/studies/{study.pk}/invites/"


def shown(invite: Invite, joined: int = 0, active: bool = True) -> dict:
    """An invite as the API shows it."""
    name = "annotation-crowd" if invite.kind == "crowd" else "annotation-join"
    return {
        "id": invite.pk,
        "kind": invite.kind,
        "url": "http://testserver" + reverse(name, args=[invite.token]),
        "is_active": active,
        "max_participants": invite.max_participants,
        "joined": joined,
        "created_by": "staff",
        "created": invite.created.isoformat().replace("+00:00", "Z"),
    }


def test_staff_create_and_list_invites(staff_api, study):
    made = staff_api.post(invites_url(study), {"kind": "crowd", "max_participants": 40})
    assert made.status_code == 201, made.json()
    crowd = Invite.objects.get(study=study)
    assert (crowd.kind, crowd.max_participants, crowd.is_active) == ("crowd", 40, True)
    assert made.json() == shown(crowd)
    account = Invite.objects.get(pk=staff_api.post(invites_url(study), {}).json()["id"])
    assert account.kind == "account" and account.max_participants == 100
    listed = staff_api.get(invites_url(study)).json()
    assert listed == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [shown(account), shown(crowd)],
    }


def test_a_bad_invite_is_refused(staff_api, study):
    for body in ({"kind": "email"}, {"max_participants": -1}, {"max_participants": 100_001}):
        assert staff_api.post(invites_url(study), body).status_code == 400
    assert not Invite.objects.exists()


def test_a_revoked_link_stops_working(staff_api, study, client, annotators, staff):
    invite = do_create_invite(study, staff)
    do_join_study(annotators["alice"], invite)
    join = reverse("annotation-join", args=[invite.token])
    assert client.get(join).status_code == 200
    response = staff_api.post(f"{invites_url(study)}{invite.pk}/revoke/")
    assert response.json() == shown(invite, joined=1, active=False)
    assert staff_api.post(f"{invites_url(study)}{invite.pk}/revoke/").status_code == 200
    assert client.get(join).status_code == 404
    client.force_login(annotators["bob"])
    assert client.post(join, {"action": "join"}).status_code == 404
    assert not StudyAnnotator.objects.filter(user=annotators["bob"]).exists()
    # who joined before keeps annotating
    assert StudyAnnotator.objects.filter(user=annotators["alice"], study=study).exists()


def test_a_revoked_crowd_link_stops_working(staff_api, study, client, staff):
    invite = do_create_invite(study, staff, kind="crowd")
    staff_api.post(f"{invites_url(study)}{invite.pk}/revoke/")
    url = reverse("annotation-crowd", args=[invite.token]) + "?PROLIFIC_PID=p1&SESSION_ID=s1"
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert not StudyAnnotator.objects.exists()


def test_only_those_who_manage_the_study_reach_its_invites(
    staff_api, as_user, study, make_study, staff, membership
):
    invite = do_create_invite(study, staff)
    membership(study, "alice")
    alice, charlie = as_user("alice"), as_user("charlie")
    urls = [invites_url(study), f"/api/studies/{study.pk}/annotators/"]
    for url in urls:
        assert alice.get(url).status_code == 403
        assert charlie.get(url).status_code == 404
    assert alice.post(invites_url(study), {}).status_code == 403
    assert alice.post(f"{invites_url(study)}{invite.pk}/revoke/").status_code == 403
    other = make_study("other", neurons=1, k=1)
    assert staff_api.post(f"{invites_url(other)}{invite.pk}/revoke/").status_code == 404
    assert staff_api.get(f"{invites_url(other)}{invite.pk}/").status_code == 404
    assert staff_api.get("/api/studies/999999/invites/").status_code == 404
    invite.refresh_from_db()
    assert invite.is_active and Invite.objects.count() == 1


def test_annotators_with_their_progress(staff_api, study, annotators, staff):
    do_make_gold_units(study, {("layer1", 0): True})
    invite = do_create_invite(study, staff)
    alice, bob = annotators["alice"], annotators["bob"]
    for user in (alice, bob):
        do_join_study(user, invite)
    for _ in range(2):  # a regular unit, then the gold one (gold rate 0.5)
        unit = access_next_unit(alice, study, prefetch=0)["units"][0]
        do_submit_unit(alice, study, **answer_all(unit, "yes"))
    access_next_unit(alice, study, prefetch=0)  # a third unit, leased
    body = staff_api.get(f"/api/studies/{study.pk}/annotators/").json()
    rows = {row["username"]: row for row in body["results"]}
    assert body["count"] == 2 and list(rows) == ["alice", "bob"]
    joined = {m.user.username: m.joined for m in StudyAnnotator.objects.select_related("user")}
    assert rows["alice"] | {"last_submitted": None} == {
        "username": "alice",
        "platform": "Account",
        "invite": invite.pk,
        "joined": joined["alice"].isoformat().replace("+00:00", "Z"),
        "units_done": 2,
        "units_in_progress": 1,
        "last_submitted": None,
        "median_seconds": 1.5,
        "gold_answered": 2,
        "gold_accuracy": 1.0,
        "excluded": False,
        "completion_code": "",
    }
    assert rows["alice"]["last_submitted"] is not None
    assert rows["bob"] == {
        "username": "bob",
        "platform": "Account",
        "invite": invite.pk,
        "joined": joined["bob"].isoformat().replace("+00:00", "Z"),
        "units_done": 0,
        "units_in_progress": 0,
        "last_submitted": None,
        "median_seconds": None,
        "gold_answered": 0,
        "gold_accuracy": None,
        "excluded": False,
        "completion_code": "",
    }
