"""Images travel under opaque per-lease ids: a distractor cannot be told by its id."""

import json
import uuid

from django.urls import reverse

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.quality import do_add_distractors
from annotate.annotation.submission import do_submit_unit
from annotate.models import NeuronImage
from evaluation.models import Judgment
from tests.helpers import answer_all, pairs_shown


def test_next_shows_no_pair_ids_and_submit_maps_ids_back(client, study, annotators):
    do_add_distractors(study, 1.0, seed=3)
    alice = annotators["alice"]
    client.force_login(alice)
    body = client.post(
        reverse("annotation-next", args=[study.pk]), '{"prefetch": 3}', "application/json"
    ).json()
    pair_ids = {str(pk) for pk in NeuronImage.objects.values_list("pk", flat=True)}
    for unit in body["units"]:
        assert len(unit["images"]) == 4  # three of the neuron's own, one distractor
        for image in unit["images"]:
            assert len(image["id"]) == 16 and image["id"] not in pair_ids
            assert not set(image["url"].strip("/").split("/")[-1:]) & pair_ids
            assert client.get(image["url"]).status_code == 200
    unit = body["units"][0]
    ids = [i["id"] for i in unit["images"]]
    answers = dict(zip(ids, ["yes", "no", "yes", "no"], strict=True))
    submission = {"client_id": str(uuid.uuid4()), "neuron": unit["neuron"], "ms_spent": 9}
    submission |= {"answers": answers, "order_shown": ids}
    response = client.post(
        reverse("annotation-submit", args=[study.pk]), json.dumps(submission), "application/json"
    )
    assert response.status_code == 200
    pairs = pairs_shown(alice, unit)
    stored = dict(Judgment.objects.values_list("neuron_image_id", "verdict"))
    assert stored == {pairs[i]: v for i, v in answers.items()}


def test_unshuffled_a_distractor_is_not_always_last(study, annotators):
    from tests.helpers import configure

    configure(study, shuffle_images=False)
    do_add_distractors(study, 1.0, seed=3)
    alice = annotators["alice"]
    places = set()
    while units := access_next_unit(alice, study, prefetch=0)["units"]:
        unit = units[0]
        do_submit_unit(alice, study, **answer_all(unit))
        pairs = pairs_shown(alice, unit)
        shown = [NeuronImage.objects.get(pk=pairs[i["id"]]) for i in unit["images"]]
        places.add(next(n for n, ni in enumerate(shown) if ni.is_distractor))
        own = [ni.rank for ni in shown if not ni.is_distractor]
        assert own == sorted(own)  # the top-k keep their rank order
    assert places != {3}  # six units: all last by chance once in 4,096 runs


def test_own_answers_are_listed_with_the_ids_they_were_shown_under(study, annotators):
    from rest_framework.test import APIClient

    alice = annotators["alice"]
    unit = access_next_unit(alice, study, prefetch=0)["units"][0]
    args = answer_all(unit, "no")
    do_submit_unit(alice, study, **args)
    api = APIClient()
    api.force_authenticate(alice)
    body = api.get(f"/api/annotate/{study.pk}/answers/").json()
    stored = Judgment.objects.get(neuron_image_id=pairs_shown(alice, unit)[unit["images"][0]["id"]])
    assert body == {
        "undo_seconds": 60,
        "answers": [
            {
                "client_id": str(args["client_id"]),
                "stored": stored.created.isoformat(),
                "changeable": True,
                "neuron": unit["neuron"],
                "label": unit["label"],
                "images": [image | {"verdict": "no"} for image in unit["images"]],
            }
        ],
    }
