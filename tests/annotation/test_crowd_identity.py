"""Crowd arrivals: a participant id is no password; identities are capped and ASCII; a code
only for work done; the link changes nothing on GET."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from annotate.annotation.members import do_create_invite
from annotate.models import Invite, StudyAnnotator
from tests.helpers import configure


@pytest.fixture
def crowd_url(study, staff):
    invite = do_create_invite(study, staff, Invite.Kind.CROWD)
    return reverse("annotation-crowd", args=[invite.token])


def next_for(client, study) -> dict:
    response = client.post(
        reverse("annotation-next", args=[study.pk]), "{}", content_type="application/json"
    )
    return response.json()


def test_a_known_participant_id_from_another_browser_is_refused(study, crowd_url):
    first = Client()
    assert (
        first.post(crowd_url, {"PROLIFIC_PID": "p1", "SESSION_ID": "s-secret"}).status_code == 302
    )
    assert first.post(crowd_url, {"PROLIFIC_PID": "p1"}).status_code == 302  # same browser
    thief = Client()
    assert thief.get(crowd_url, {"PROLIFIC_PID": "p1"}).status_code == 200  # the start page
    assert "_auth_user_id" not in thief.session
    refused = thief.post(crowd_url, {"PROLIFIC_PID": "p1"})
    assert refused.status_code == 403 and "another browser" in refused.content.decode()
    assert "_auth_user_id" not in thief.session
    forged = Client()
    forged.cookies[f"nj-crowd-{study.pk}"] = str(StudyAnnotator.objects.get(participant_id="p1").pk)
    assert forged.post(crowd_url, {"PROLIFIC_PID": "p1"}).status_code == 403  # unsigned
    again = Client()  # the platform's own link again, from a new browser: its session id
    assert (
        again.post(crowd_url, {"PROLIFIC_PID": "p1", "SESSION_ID": "s-secret"}).status_code == 302
    )
    assert StudyAnnotator.objects.filter(participant_id="p1").count() == 1


def test_new_participants_are_capped_per_invite_and_ids_are_ascii(study, crowd_url):
    Invite.objects.filter(kind="crowd").update(max_participants=3)
    wide = Client().post(crowd_url, {"PROLIFIC_PID": "ＡＢＣ１２３"})
    assert wide.status_code == 400 and "ASCII" in wide.content.decode()
    for n in range(3):
        assert Client().post(crowd_url, {"PROLIFIC_PID": f"made-up-{n}"}).status_code == 302
    full = Client().post(crowd_url, {"PROLIFIC_PID": "made-up-3"})
    assert full.status_code == 400 and "all the participants" in full.content.decode()
    assert StudyAnnotator.objects.exclude(platform="").count() == 3


def test_staff_see_each_mturk_workers_code(study, crowd_url, client, staff):
    Client().post(crowd_url, {"workerId": "A1B2C3", "assignmentId": "X9"})
    code = StudyAnnotator.objects.get(participant_id="A1B2C3").completion_code
    client.force_login(staff)
    page = client.get(reverse("annotation-manage", args=[study.pk])).content.decode()
    assert f"<code>{code}</code>" in page and "1 of 100 joined" in page


def test_no_completion_code_without_work(study, crowd_url, annotators):
    configure(study, completion_code="PROLIF1")
    study.overlap = 1
    study.save()
    bob = Client()
    bob.force_login(annotators["bob"])
    while units := next_for(bob, study)["units"]:
        unit = units[0]
        ids = [i["id"] for i in unit["images"]]
        body = {
            "client_id": f"00000000-0000-4000-8000-{unit['neuron']:012d}",
            "neuron": unit["neuron"],
        }
        body |= {"answers": {i: "yes" for i in ids}, "order_shown": ids, "ms_spent": 5}
        bob.post(
            reverse("annotation-submit", args=[study.pk]), json.dumps(body), "application/json"
        )
    late = Client()
    late.post(crowd_url, {"PROLIFIC_PID": "late1"})
    assert next_for(late, study)["progress"] == {
        "done": 0,
        "quota": None,
        "left": None,
        "finished": True,
        "no_work_left": True,
    }


def test_the_crowd_link_changes_nothing_on_get(study, crowd_url, client, staff):
    client.force_login(staff)
    page = client.get(crowd_url, {"PROLIFIC_PID": "p9", "SESSION_ID": "s9"})
    html = page.content.decode()
    assert page.status_code == 200 and 'method="post"' in html
    assert 'name="PROLIFIC_PID" value="p9"' in html and "logs you out" in html
    assert client.get(reverse("annotation-manage", args=[study.pk])).status_code == 200
    assert not StudyAnnotator.objects.filter(participant_id="p9").exists()
