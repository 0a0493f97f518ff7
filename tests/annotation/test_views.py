"""The pages and JSON endpoints: blind, scoped to the annotator's study, staff-only management."""

import json
import uuid

import pytest
from django.urls import reverse

from annotate.annotation.members import do_create_invite
from annotate.models import Invite, StudyAnnotator
from evaluation.models import Judgment, Rater
from tests.helpers import configure


def post_json(client, name, study, body):
    return client.post(
        reverse(name, args=[study.pk]), data=json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def alice_client(client, annotators):
    client.force_login(annotators["alice"])
    return client


@pytest.fixture
def other_study(make_study, staff, annotators):
    other = make_study("other", neurons=2, k=3)
    rater = Rater.objects.create(name="clip-es", kind=Rater.Kind.OPENCLIP_ES)
    for ni in other.neurons.get(unit=0).images.all():
        Judgment.objects.create(rater=rater, neuron_image=ni, verdict="yes", score=0.9)
    return other


def test_next_and_submit_over_http(alice_client, study):
    response = post_json(alice_client, "annotation-next", study, {"prefetch": 1})
    assert response.status_code == 200 and "Server-Timing" in response
    body = response.json()
    unit = body["units"][0]
    assert set(unit) == {"neuron", "label", "images"}  # no gold flag, no other verdicts
    assert all(set(img) == {"id", "url"} for img in unit["images"])
    assert body["progress"] == {"done": 0, "quota": None, "left": None, "finished": False}
    image = alice_client.get(unit["images"][0]["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    submission = {
        "client_id": str(uuid.uuid4()),
        "neuron": unit["neuron"],
        "answers": {str(i["id"]): "yes" for i in unit["images"]},
        "order_shown": [i["id"] for i in unit["images"]],
        "ms_spent": 2000,
    }
    first = post_json(alice_client, "annotation-submit", study, submission)
    again = post_json(alice_client, "annotation-submit", study, submission)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Judgment.objects.filter(submission=submission["client_id"]).count() == 3


def test_bad_requests_get_clear_errors(alice_client, study):
    bad_json = alice_client.post(
        reverse("annotation-submit", args=[study.pk]), data="{", content_type="application/json"
    )
    assert bad_json.status_code == 400 and bad_json.json() == {
        "error": "The body is not valid JSON."
    }
    missing = post_json(alice_client, "annotation-submit", study, {"client_id": str(uuid.uuid4())})
    assert missing.status_code == 400 and "neuron" in missing.json()["error"]
    assert alice_client.get(reverse("annotation-next", args=[study.pk])).status_code == 405
    bad_prefetch = post_json(alice_client, "annotation-next", study, {"prefetch": "two"})
    assert bad_prefetch.status_code == 400
    unit = post_json(alice_client, "annotation-next", study, {}).json()["units"][0]
    odd = post_json(
        alice_client,
        "annotation-submit",
        study,
        {
            "client_id": str(uuid.uuid4()),
            "neuron": unit["neuron"],
            "ms_spent": 1,
            "answers": {str(i["id"]): ["yes"] for i in unit["images"]},
            "order_shown": [i["id"] for i in unit["images"]],
        },
    )
    assert odd.status_code == 400 and "Unknown verdicts" in odd.json()["error"]
    assert not Judgment.objects.exists()


def test_an_annotator_cannot_reach_another_study(alice_client, study, other_study):
    ni = other_study.neurons.get(unit=0).images.first()
    assert alice_client.get(reverse("annotation-page", args=[other_study.pk])).status_code == 404
    assert post_json(alice_client, "annotation-next", other_study, {}).status_code == 404
    refused = post_json(
        alice_client,
        "annotation-submit",
        other_study,
        {"client_id": str(uuid.uuid4()), "neuron": ni.neuron_id, "answers": {str(ni.pk): "no"}},
    )
    assert refused.status_code == 404
    own = post_json(alice_client, "annotation-next", study, {}).json()["units"][0]["images"][0]
    lease = own["url"].rstrip("/").split("/")[-2]
    for study_id, image in ((study.pk, str(ni.pk)), (other_study.pk, own["id"])):
        url = reverse("annotation-image", args=[study_id, lease, image])
        assert alice_client.get(url).status_code == 404  # a pair id, or another study
    assert alice_client.get(reverse("annotation-manage", args=[study.pk])).status_code == 403


def test_an_annotator_never_sees_other_verdicts(client, annotators, study, other_study):
    client.force_login(annotators["bob"])
    unit = post_json(client, "annotation-next", study, {"prefetch": 0}).json()["units"][0]
    answers = {str(i["id"]): "no" for i in unit["images"]}
    post_json(
        client,
        "annotation-submit",
        study,
        {
            "client_id": str(uuid.uuid4()),
            "neuron": unit["neuron"],
            "answers": answers,
            "order_shown": [i["id"] for i in unit["images"]],
            "ms_spent": 10,
        },
    )
    client.force_login(annotators["alice"])
    body = post_json(client, "annotation-next", study, {"prefetch": 3}).content.decode()
    page = client.get(reverse("annotation-page", args=[study.pk])).content.decode()
    for text in (body, page):
        assert '"no"' not in text and 'verdict": ' not in text and "0.9" not in text
    bob_undo = post_json(client, "annotation-undo", study, {"client_id": str(uuid.uuid4())})
    assert bob_undo.status_code == 400
    assert Judgment.objects.filter(rater__user=annotators["bob"]).count() == 3


def test_charlie_without_invite_and_anonymous_visitors_are_kept_out(client, annotators, study):
    assert client.get(reverse("annotation-page", args=[study.pk])).status_code == 302
    assert client.get(reverse("annotation-manage", args=[study.pk])).status_code == 302
    assert post_json(client, "annotation-next", study, {}).status_code == 403
    client.force_login(annotators["charlie"])
    assert client.get(reverse("annotation-page", args=[study.pk])).status_code == 404
    invite = Invite.objects.get(study=study)
    join = reverse("annotation-join", args=[invite.token])
    assert client.get(join).status_code == 200  # a page to confirm on: GET joins nobody
    assert not StudyAnnotator.objects.filter(study=study, user=annotators["charlie"]).exists()
    assert client.post(join, {"action": "join"}).status_code == 302
    assert StudyAnnotator.objects.filter(study=study, user=annotators["charlie"]).exists()
    assert client.get(reverse("annotation-page", args=[study.pk])).status_code == 200


def test_a_revoked_invite_adds_nobody(client, annotators, study):
    invite = Invite.objects.get(study=study)
    invite.is_active = False
    invite.save()
    client.force_login(annotators["charlie"])
    url = reverse("annotation-join", args=[invite.token])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "join"}).status_code == 404
    assert not StudyAnnotator.objects.filter(user=annotators["charlie"]).exists()


def test_a_crowd_worker_arrives_from_prolific(client, study, staff):
    invite = do_create_invite(study, staff, Invite.Kind.CROWD)
    url = reverse("annotation-crowd", args=[invite.token])
    assert client.get(url).status_code == 400
    assert client.get(url, {"PROLIFIC_PID": "bad id!"}).status_code == 400
    response = client.post(url, {"PROLIFIC_PID": "5f3a9c", "STUDY_ID": "x", "SESSION_ID": "y"})
    assert response.status_code == 302
    member = StudyAnnotator.objects.get(platform="prolific", participant_id="5f3a9c")
    assert member.user.rater.kind == "human" and not member.user.has_usable_password()
    assert len(member.completion_code) == 10
    configure(study, quota=1, completion_code="PROLIF1")
    unit = post_json(client, "annotation-next", study, {}).json()["units"][0]
    post_json(
        client,
        "annotation-submit",
        study,
        {
            "client_id": str(uuid.uuid4()),
            "neuron": unit["neuron"],
            "ms_spent": 900,
            "answers": {str(i["id"]): "no" for i in unit["images"]},
            "order_shown": [i["id"] for i in unit["images"]],
        },
    )
    assert post_json(client, "annotation-next", study, {}).json()["progress"] == {
        "done": 1,
        "quota": 1,
        "left": 0,
        "finished": True,
        "completion_code": "PROLIF1",
        "completion_url": "https://app.prolific.com/submissions/complete?cc=PROLIF1",
    }
    again = client.post(url, {"PROLIFIC_PID": "5f3a9c"})  # the same browser: the same annotator
    assert again.status_code == 302
    assert StudyAnnotator.objects.filter(participant_id="5f3a9c").count() == 1
    mturk = client.post(url, {"workerId": "A1B2C3", "assignmentId": "z"})
    assert mturk.status_code == 302
    assert StudyAnnotator.objects.filter(platform="mturk", participant_id="A1B2C3").exists()


def test_staff_page_shows_progress_and_makes_invites(client, staff, study):
    client.force_login(staff)
    url = reverse("annotation-manage", args=[study.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice" in html and "bob" in html and "6 units × 3 annotators" in html
    client.post(url, {"action": "invite", "kind": "crowd"})
    assert study.invites.filter(kind="crowd").count() == 1
    bad = client.post(
        url,
        {"action": "settings", "overlap": 0, "gold_rate": 2, "quota": 0, "min_gold_accuracy": 0.7},
    )
    assert bad.status_code == 200 and study.annotation_settings.gold_rate == 0
    client.post(
        url,
        {
            "action": "settings",
            "overlap": 2,
            "gold_rate": 0.2,
            "quota": 10,
            "min_gold_accuracy": 0.8,
            "shuffle_images": "on",
        },
    )
    study.refresh_from_db()
    study.annotation_settings.refresh_from_db()
    assert study.overlap == 2 and study.annotation_settings.quota == 10


def test_study_page_links_to_annotation_but_staff_annotate_only_through_an_invite(
    client, staff, study
):
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert reverse("annotation-manage", args=[study.pk]) in page
    assert reverse("annotation-page", args=[study.pk]) in page
    assert client.get(reverse("annotation-page", args=[study.pk])).status_code == 404
    assert not StudyAnnotator.objects.filter(study=study, user=staff).exists()
