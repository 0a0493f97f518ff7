"""Access rules through the API and the pages: members own studies, annotators see only their
own study, units and judgments (blind), crowd workers only their session, anonymous nothing."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from annotate.annotation.units import do_sync_units
from annotate.models import NeuronImage
from evaluation.models import Judgment, Rater
from tests.helpers import page

pytestmark = pytest.mark.django_db

STAFF_ONLY_LISTS = ["/api/neurons/", "/api/raters/", "/api/runs/", "/api/concept-sets/"]
ALL_LISTS = ["/api/studies/", "/api/judgments/", *STAFF_ONLY_LISTS]


@pytest.fixture
def two_studies(make_study, membership):
    """Study A annotated by alice and bob; study B by nobody. Units ready for both."""
    study_a, study_b = make_study("A", neurons=3, k=2), make_study("B", neurons=2, k=2)
    for study in (study_a, study_b):
        do_sync_units(study)
    membership(study_a, "alice")
    membership(study_a, "bob")
    return study_a, study_b


@pytest.mark.parametrize("url", ALL_LISTS)
def test_anonymous_users_reach_nothing(api, url, two_studies):
    response = api.get(url)
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("url", "status"), [("/api/schema/", 403), ("/api/docs/", 302)])
def test_anonymous_users_get_no_schema(api, url, status):
    response = api.get(url)
    assert response.status_code == status  # the docs page sends people to the login page
    assert b"openapi" not in response.content.lower()


def test_anonymous_cannot_submit(api, two_studies):
    study_a, _ = two_studies
    response = api.post(f"/api/annotate/{study_a.pk}/submit/", {}, format="json")
    assert response.status_code == 403
    assert not Judgment.objects.exists()


@pytest.mark.parametrize("url", STAFF_ONLY_LISTS)
def test_annotators_are_refused_staff_lists(as_user, url, two_studies):
    response = as_user("alice").get(url)
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff can use this endpoint."}


def test_annotator_sees_only_their_studies(as_user, two_studies):
    study_a, study_b = two_studies
    assert [s["id"] for s in as_user("alice").get("/api/studies/").json()["results"]] == [
        study_a.pk
    ]
    assert as_user("charlie").get("/api/studies/").json() == page([])
    hidden = as_user("alice").get(f"/api/studies/{study_b.pk}/")
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": "No such study."}


def test_annotator_cannot_change_or_create_studies(as_user, two_studies):
    study_a, _ = two_studies
    alice = as_user("alice")
    patch = alice.patch(f"/api/studies/{study_a.pk}/", {"name": "mine"}, format="json")
    assert patch.status_code == 403
    assert patch.json() == {"detail": "Only staff can change this."}
    body = {"name": "x", "target_network": "n", "probe_dataset": "p"}
    assert alice.post("/api/studies/", body, format="json").status_code == 403
    assert alice.delete(f"/api/studies/{study_a.pk}/").status_code == 403
    study_a.refresh_from_db()
    assert study_a.name == "A"


def test_staff_see_only_the_studies_they_are_members_of(staff_api, staff, two_studies):
    from annotate.models import StudyRole

    study_a, study_b = two_studies
    StudyRole.objects.filter(study=study_b, user=staff).delete()
    ids = [s["id"] for s in staff_api.get("/api/studies/").json()["results"]]
    assert ids == [study_a.pk]
    hidden = staff_api.get(f"/api/studies/{study_b.pk}/")
    assert (hidden.status_code, hidden.json()) == (404, {"detail": "No such study."})


def submit_body(unit: dict, verdict: str = "yes") -> dict:
    ids = [image["id"] for image in unit["images"]]
    return {
        "client_id": str(uuid.uuid4()),
        "neuron": unit["neuron"],
        "answers": {str(i): verdict for i in ids},
        "order_shown": ids,
        "ms_spent": 1500,
    }


def test_annotators_judge_blind_and_see_only_their_own_judgments(as_user, two_studies):
    study_a, _ = two_studies
    alice, bob = as_user("alice"), as_user("bob")
    unit = alice.post(f"/api/annotate/{study_a.pk}/next/", {"prefetch": 0}).json()["units"][0]
    assert set(unit) == {"neuron", "label", "images"}  # no verdicts of anyone in a unit
    body = submit_body(unit, "yes")
    stored = alice.post(f"/api/annotate/{study_a.pk}/submit/", body, format="json")
    assert stored.status_code == 200, stored.json()
    bob_unit = bob.post(f"/api/annotate/{study_a.pk}/next/", {"prefetch": 0}).json()["units"][0]
    bob.post(f"/api/annotate/{study_a.pk}/submit/", submit_body(bob_unit, "no"), format="json")
    model = Rater.objects.create(name="es", kind="openclip_es")
    pair = NeuronImage.objects.filter(neuron_id=unit["neuron"]).first()  # ids shown are opaque
    Judgment.objects.create(rater=model, neuron_image=pair, verdict="no")

    alice_rater = Rater.objects.get(user__username="alice")
    mine = alice.get("/api/judgments/").json()
    assert mine["count"] == 2
    assert {j["rater"] for j in mine["results"]} == {alice_rater.pk}
    assert {j["verdict"] for j in mine["results"]} == {"yes"}
    # Asking for another rater's verdicts, or another judgment by id, shows nothing.
    assert alice.get(f"/api/judgments/?rater={model.pk}").json() == page([])
    bobs = Judgment.objects.filter(rater__user__username="bob").first()
    assert alice.get(f"/api/judgments/{bobs.pk}/").status_code == 404
    assert Judgment.objects.count() == 5


def test_submitting_twice_stores_once_and_a_foreign_unit_is_refused(as_user, two_studies):
    study_a, _ = two_studies
    alice = as_user("alice")
    unit = alice.post(f"/api/annotate/{study_a.pk}/next/", {"prefetch": 0}).json()["units"][0]
    body = submit_body(unit)
    first = alice.post(f"/api/annotate/{study_a.pk}/submit/", body, format="json").json()
    second = alice.post(f"/api/annotate/{study_a.pk}/submit/", body, format="json").json()
    assert (
        first
        == second
        == {
            "client_id": body["client_id"],
            "neuron": unit["neuron"],
            "stored": first["stored"],
        }
    )
    assert Judgment.objects.count() == 2
    others = study_a.neurons.exclude(pk=unit["neuron"]).first()
    foreign = {**submit_body(unit), "neuron": others.pk}
    refused = alice.post(f"/api/annotate/{study_a.pk}/submit/", foreign, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "This unit was not given to you."}
    assert Judgment.objects.count() == 2


def test_non_members_cannot_annotate_a_study(as_user, two_studies):
    study_a, study_b = two_studies
    for name, study in (("charlie", study_a), ("alice", study_b)):
        response = as_user(name).post(f"/api/annotate/{study.pk}/next/")
        assert response.status_code == 404
        assert response.json() == {"detail": "You are not an annotator of this study."}
    assert Judgment.objects.count() == 0


def test_staff_are_not_enrolled_as_annotators_by_asking_for_units(staff_api, staff, two_studies):
    from annotate.models import StudyAnnotator

    study_a, _ = two_studies
    response = staff_api.post(f"/api/annotate/{study_a.pk}/next/")
    assert response.status_code == 404
    assert response.json() == {"detail": "You are not an annotator of this study."}
    assert not StudyAnnotator.objects.filter(user=staff).exists()
    assert not Rater.objects.filter(user=staff).exists()


def test_crowd_worker_reaches_only_their_own_session(api, two_studies):
    from annotate.annotation.members import do_create_invite, do_join_crowd
    from annotate.models import Invite

    study_a, study_b = two_studies
    invite = do_create_invite(study_a, None, Invite.Kind.CROWD)
    worker = do_join_crowd(invite, {"PROLIFIC_PID": "abc123"}).user
    api.force_authenticate(worker)
    assert [s["id"] for s in api.get("/api/studies/").json()["results"]] == [study_a.pk]
    assert api.post(f"/api/annotate/{study_b.pk}/next/").status_code == 404
    assert api.get("/api/judgments/").json() == page([])
    assert api.get("/api/neurons/").status_code == 403


def test_pages_follow_the_same_rules(client, annotators, two_studies):
    study_a, study_b = two_studies
    page_a = reverse("annotation-page", args=[study_a.pk])
    assert client.get(page_a).status_code == 302  # anonymous: to the login page
    client.force_login(annotators["alice"])
    assert client.get(page_a).status_code == 200
    assert client.get(reverse("annotation-page", args=[study_b.pk])).status_code == 404
    pair = study_b.neurons.first().images.first()
    for lease in (0, pair.pk):  # no lease of alice's, whatever id is tried
        image = reverse("annotation-image", args=[study_b.pk, lease, str(pair.pk)])
        assert client.get(image).status_code == 404
    client.force_login(annotators["charlie"])
    assert client.get(page_a).status_code == 404
