"""Label-rating and best-of studies: units, payloads, answers stored once, undo, overlap R,
gold units, over the domain calls and the API."""

import uuid

import pytest
from rest_framework.test import APIClient

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import human_rater
from annotate.annotation.quality import (
    GoldError,
    do_add_distractors,
    do_make_gold_units,
    gold_tally,
)
from annotate.annotation.submission import (
    SubmissionConflict,
    SubmissionError,
    do_submit_unit,
    do_undo_submission,
    recent_answers,
)
from annotate.annotation.units import do_sync_units, unit_counts
from annotate.models import Assignment, Neuron, NeuronImage, Unit
from evaluation.models import LabelJudgment
from tests.helpers import build_label_study, configure, join

LABELS = {
    "CLIP-Dissect": ["dog", "wheel", "sky"],
    "MILAN": ["animal faces", "round things", "blue area"],
    "NetDissect": ["fur", "car", "water"],
}


@pytest.fixture
def rating_study(db, staff, annotators):
    study = build_label_study("label_rating", LABELS)
    join(study, staff, [annotators["alice"], annotators["bob"]])
    return study


@pytest.fixture
def best_of_study(db, staff, annotators):
    study = build_label_study("best_of", LABELS)
    join(study, staff, [annotators["alice"], annotators["bob"]])
    return study


def first_unit(user, study) -> dict:
    return access_next_unit(user, study, prefetch=0)["units"][0]


def shown(unit: dict) -> dict:
    """The submit arguments every answer shares."""
    return {
        "client_id": uuid.uuid4(),
        "neuron_id": unit["neuron"],
        "order_shown": [img["id"] for img in unit["images"]],
        "ms_spent": 900,
    }


# --- label_rating ---------------------------------------------------------------------------


def test_each_label_is_a_unit_with_its_images_shown_together(rating_study, annotators):
    body = access_next_unit(annotators["alice"], rating_study, prefetch=0)
    unit = body["units"][0]
    first = Neuron.objects.get(label="dog")
    assert body["question"] == "label_rating"
    assert set(unit) == {"neuron", "label", "images"}
    assert (unit["neuron"], unit["label"], len(unit["images"])) == (first.pk, "dog", 3)
    assert Unit.objects.filter(study=rating_study).count() == 9  # 3 label sets x 3 units


def test_a_rating_is_stored_once_under_the_annotators_rater(rating_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, rating_study)
    args = shown(unit) | {"label_answer": {"rating": 4}}
    first = do_submit_unit(alice, rating_study, **args)
    again = do_submit_unit(alice, rating_study, **args)
    judgment = LabelJudgment.objects.get()
    assert (
        first
        == again
        == {
            "client_id": str(args["client_id"]),
            "neuron": unit["neuron"],
            "stored": judgment.created.isoformat(),
        }
    )
    assert (judgment.rater, judgment.neuron_id, judgment.question) == (
        human_rater(alice),
        unit["neuron"],
        "label_rating",
    )
    assert (judgment.rating, judgment.uninterpretable, judgment.submission) == (
        4,
        False,
        args["client_id"],
    )
    assert (judgment.layer, judgment.unit) == ("layer4", 0)
    assert Unit.objects.get(pk=unit["neuron"]).done == 1
    assert Assignment.objects.get(annotator=alice, unit_id=unit["neuron"]).state == "done"


def test_uninterpretable_is_stored_without_a_rating(rating_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, rating_study)
    do_submit_unit(alice, rating_study, **shown(unit), label_answer={"uninterpretable": True})
    assert LabelJudgment.objects.values_list("rating", "uninterpretable").get() == (None, True)


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"rating": 6}, "rating must be a whole number from 1 to 5"),
        ({"rating": True}, "rating must be a whole number from 1 to 5"),
        ({}, "rating must be a whole number from 1 to 5"),
        ({"rating": 3, "uninterpretable": True}, "not both"),
        ({"rating": 3, "uninterpretable": "yes"}, "uninterpretable must be true or false"),
    ],
)
def test_a_bad_rating_stores_nothing(rating_study, annotators, answer, message):
    alice = annotators["alice"]
    unit = first_unit(alice, rating_study)
    with pytest.raises(SubmissionError, match=message):
        do_submit_unit(alice, rating_study, **shown(unit), label_answer=answer)
    assert not LabelJudgment.objects.exists()
    assert Unit.objects.get(pk=unit["neuron"]).done == 0


def test_a_second_rating_of_the_same_label_is_refused(rating_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, rating_study)
    do_submit_unit(alice, rating_study, **shown(unit), label_answer={"rating": 2})
    with pytest.raises(SubmissionConflict):
        do_submit_unit(alice, rating_study, **shown(unit), label_answer={"rating": 5})
    assert list(LabelJudgment.objects.values_list("rating", flat=True)) == [2]


def test_undo_deletes_the_rating_and_gives_the_unit_back(rating_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, rating_study)
    args = shown(unit) | {"label_answer": {"rating": 1}}
    do_submit_unit(alice, rating_study, **args)
    undone = do_undo_submission(alice, rating_study, args["client_id"])
    assert undone == {
        "undone": str(args["client_id"]),
        "neuron": unit["neuron"],
        "answer": {"rating": 1, "uninterpretable": False},
        "unit": unit,
    }
    assert not LabelJudgment.objects.exists()
    assert Unit.objects.get(pk=unit["neuron"]).done == 0
    assert first_unit(alice, rating_study) == unit  # the same unit, the same ids
    do_submit_unit(alice, rating_study, **shown(unit), label_answer={"rating": 3})
    assert list(LabelJudgment.objects.values_list("rating", flat=True)) == [3]


def test_overlap_r_holds_for_ratings(rating_study, annotators, staff):
    rating_study.overlap = 1
    rating_study.save()
    join(rating_study, staff, [annotators["charlie"]])
    seen = {}
    for name in ("alice", "bob", "charlie"):
        units = access_next_unit(annotators[name], rating_study, prefetch=3)["units"]
        seen[name] = {u["neuron"] for u in units}
    assert [len(seen[n]) for n in ("alice", "bob", "charlie")] == [4, 4, 1]
    assert len(seen["alice"] | seen["bob"] | seen["charlie"]) == 9  # nobody shares a unit
    assert set(Unit.objects.values_list("claimed", flat=True)) == {1}


def test_a_label_with_fewer_than_k_images_is_not_served(rating_study, annotators):
    short = Neuron.objects.create(
        study=rating_study,
        label_set=rating_study.label_sets.first(),
        layer="layer4",
        unit=7,
        label="too few",
    )
    for rank, pair in enumerate(NeuronImage.objects.filter(neuron__label="dog")[:2], start=1):
        NeuronImage.objects.create(neuron=short, image=pair.image, rank=rank)
    labels = set()
    for _ in range(3):
        for unit in access_next_unit(annotators["alice"], rating_study, prefetch=3)["units"]:
            do_submit_unit(
                annotators["alice"], rating_study, **shown(unit), label_answer={"rating": 3}
            )
            labels.add(unit["label"])
    assert len(labels) == 9 and "too few" not in labels
    assert not Unit.objects.filter(neuron=short).exists()


# --- best_of --------------------------------------------------------------------------------


def test_a_best_of_unit_is_the_layer_unit_with_its_label_sets_labels_hidden(
    best_of_study, annotators
):
    alice = annotators["alice"]
    body = access_next_unit(alice, best_of_study, prefetch=0)
    unit = body["units"][0]
    key = Neuron.objects.get(label="dog")  # the first label set's neuron
    assert body["question"] == "best_of"
    assert set(unit) == {"neuron", "labels", "images"}  # no single label, no label set
    assert unit["neuron"] == key.pk and len(unit["images"]) == 3
    assert sorted(label["label"] for label in unit["labels"]) == ["animal faces", "dog", "fur"]
    ids = {label["id"] for label in unit["labels"]}
    neuron_ids = set(map(str, Neuron.objects.values_list("pk", flat=True)))
    assert len(ids) == 3 and not ids & neuron_ids
    assert "CLIP" not in str(body) and "MILAN" not in str(body)
    assert first_unit(alice, best_of_study)["labels"] == unit["labels"]  # stable on reload
    assert set(Unit.objects.values_list("neuron__label", flat=True)) == {"dog", "wheel", "sky"}


def test_a_choice_is_stored_once_as_the_units_best_of_judgment(best_of_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, best_of_study)
    pick = next(label for label in unit["labels"] if label["label"] == "animal faces")
    args = shown(unit) | {"label_answer": {"chosen": pick["id"]}}
    first = do_submit_unit(alice, best_of_study, **args)
    assert do_submit_unit(alice, best_of_study, **args) == first
    judgment = LabelJudgment.objects.get()
    shown_order = [Neuron.objects.get(label=label["label"]).pk for label in unit["labels"]]
    assert (judgment.question, judgment.neuron_id, judgment.chosen.label) == (
        "best_of",
        Neuron.objects.get(label="dog").pk,
        "animal faces",
    )
    assert (judgment.none_fits, judgment.rating, judgment.rater) == (
        False,
        None,
        human_rater(alice),
    )
    assert judgment.extra == {
        "labels_shown": shown_order,
        "position": unit["labels"].index(pick) + 1,
    }
    assert Unit.objects.get(pk=unit["neuron"]).done == 1


def test_none_fits_is_stored_without_a_choice(best_of_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, best_of_study)
    do_submit_unit(alice, best_of_study, **shown(unit), label_answer={"none_fits": True})
    assert LabelJudgment.objects.values_list("chosen", "none_fits").get() == (None, True)


@pytest.mark.parametrize(
    "answer, message",
    [
        ({}, "chosen must be the id of one of the unit's labels"),
        ({"chosen": "not-an-id"}, "chosen must be the id of one of the unit's labels"),
        ({"none_fits": True, "chosen": "x"}, "not both"),
        ({"chosen": ["a", "list"]}, "chosen must be the id of one of the unit's labels"),
        ({"none_fits": 1}, "none_fits must be true or false"),
    ],
)
def test_a_bad_choice_stores_nothing(best_of_study, annotators, answer, message):
    alice = annotators["alice"]
    unit = first_unit(alice, best_of_study)
    with pytest.raises(SubmissionError, match=message):
        do_submit_unit(alice, best_of_study, **shown(unit), label_answer=answer)
    assert not LabelJudgment.objects.exists()


def test_a_label_id_of_another_lease_is_refused(best_of_study, annotators):
    alice, bob = annotators["alice"], annotators["bob"]
    unit = first_unit(alice, best_of_study)
    bobs = access_next_unit(bob, best_of_study, prefetch=3)["units"]
    bobs = next(u for u in bobs if u["neuron"] == unit["neuron"])
    assert {x["id"] for x in unit["labels"]}.isdisjoint({x["id"] for x in bobs["labels"]})
    with pytest.raises(SubmissionError):
        answer = {"chosen": bobs["labels"][0]["id"]}
        do_submit_unit(alice, best_of_study, **shown(unit), label_answer=answer)


def test_undo_deletes_the_choice_and_shows_it_again(best_of_study, annotators):
    alice = annotators["alice"]
    unit = first_unit(alice, best_of_study)
    args = shown(unit) | {"label_answer": {"chosen": unit["labels"][1]["id"]}}
    do_submit_unit(alice, best_of_study, **args)
    answers = recent_answers(alice, best_of_study)
    chosen_label = unit["labels"][1]["label"]
    assert [(a["summary"], a["answer"], a["labels"]) for a in answers] == [
        (
            f"best: {chosen_label}",
            {"chosen": unit["labels"][1]["id"], "none_fits": False},
            unit["labels"],
        )
    ]
    undone = do_undo_submission(alice, best_of_study, args["client_id"])
    assert undone["answer"] == {"chosen": unit["labels"][1]["id"], "none_fits": False}
    assert undone["unit"] == unit
    assert not LabelJudgment.objects.exists()
    do_submit_unit(alice, best_of_study, **shown(unit), label_answer={"none_fits": True})
    assert LabelJudgment.objects.get().none_fits


def test_overlap_r_holds_for_best_of_units(best_of_study, annotators, staff):
    best_of_study.overlap = 1
    best_of_study.save()
    alice = access_next_unit(annotators["alice"], best_of_study, prefetch=1)["units"]
    bob = access_next_unit(annotators["bob"], best_of_study, prefetch=3)["units"]
    assert (len(alice), len(bob)) == (2, 1)
    assert {u["neuron"] for u in alice + bob} == set(
        Neuron.objects.filter(label__in=["dog", "wheel", "sky"]).values_list("pk", flat=True)
    )


def test_syncing_units_keeps_one_unit_per_best_of_layer_unit(best_of_study, annotators):
    Unit.objects.all().delete()
    assert do_sync_units(best_of_study) == 3
    assert set(Unit.objects.values_list("neuron__label", flat=True)) == {"dog", "wheel", "sky"}
    assert unit_counts(best_of_study).waiting == 0


def test_a_best_of_unit_waits_for_its_first_label_sets_images(db, staff, annotators):
    study = build_label_study("best_of", {"A": ["x"], "B": ["y"]}, k=3)
    first = Neuron.objects.get(label="x")
    NeuronImage.objects.filter(neuron=first, rank=3).delete()
    Unit.objects.filter(neuron=first).delete()
    join(study, staff, [annotators["alice"]])
    body = access_next_unit(annotators["alice"], study, prefetch=3)
    assert body["units"] == [] and body["progress"]["no_work_left"] is True
    assert unit_counts(study).waiting == 1  # one (layer, unit), not one per label set
    NeuronImage.objects.create(
        neuron=first, image=NeuronImage.objects.get(neuron__label="y", rank=3).image, rank=3
    )
    labels = access_next_unit(annotators["alice"], study, prefetch=3)["units"][0]["labels"]
    assert sorted(x["label"] for x in labels) == ["x", "y"]
    assert Unit.objects.count() == 1


# --- gold units and distractors -------------------------------------------------------------


def test_gold_ratings_count_towards_gold_accuracy(rating_study, annotators):
    alice = annotators["alice"]
    dog, wheel = Neuron.objects.get(label="dog"), Neuron.objects.get(label="wheel")
    do_make_gold_units(rating_study, {dog.pk: True, wheel.pk: False})
    configure(rating_study, gold_rate=1.0)
    answers = {"dog": {"rating": 5}, "wheel": {"rating": 4}}
    for _ in range(4):
        for unit in access_next_unit(alice, rating_study, prefetch=0)["units"]:
            answer = answers.get(unit["label"], {"rating": 3})
            do_submit_unit(alice, rating_study, **shown(unit), label_answer=answer)
    assert set(
        Assignment.objects.filter(annotator=alice, is_gold=True).values_list(
            "unit__neuron__label", flat=True
        )
    ) == {"dog", "wheel"}
    assert gold_tally(rating_study) == {human_rater(alice).pk: (1, 2)}


def test_a_best_of_gold_unit_knows_its_best_label(best_of_study, annotators):
    alice = annotators["alice"]
    milan = Neuron.objects.get(label="round things")
    do_make_gold_units(best_of_study, {milan.pk: True})
    gold = Unit.objects.get(is_gold=True)
    assert gold.neuron.label == "wheel"  # the unit's own row, whichever label was named
    configure(best_of_study, gold_rate=1.0)
    for _ in range(3):
        for unit in access_next_unit(alice, best_of_study, prefetch=0)["units"]:
            pick = next(x for x in unit["labels"] if x["label"] in ("round things", "dog", "sky"))
            do_submit_unit(alice, best_of_study, **shown(unit), label_answer={"chosen": pick["id"]})
    assert gold_tally(best_of_study) == {human_rater(alice).pk: (1, 1)}


def test_distractors_are_refused_for_neuron_level_questions(best_of_study, rating_study):
    for study in (best_of_study, rating_study):
        with pytest.raises(GoldError, match="Distractor images are for yes/no studies"):
            do_add_distractors(study, 0.5)
    assert not NeuronImage.objects.filter(is_distractor=True).exists()


# --- the API --------------------------------------------------------------------------------


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_ratings_over_the_api(rating_study, annotators):
    api, url = api_for(annotators["alice"]), f"/api/annotate/{rating_study.pk}"
    body = api.post(f"{url}/next/", {"prefetch": 0}, format="json").json()
    unit = body["units"][0]
    assert (body["question"], unit["label"]) == ("label_rating", "dog")
    send = {
        "client_id": str(uuid.uuid4()),
        "neuron": unit["neuron"],
        "rating": 2,
        "order_shown": [img["id"] for img in unit["images"]],
        "ms_spent": 800,
    }
    first = api.post(f"{url}/submit/", send, format="json")
    second = api.post(f"{url}/submit/", send, format="json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert LabelJudgment.objects.get().rating == 2
    bad = api.post(f"{url}/submit/", {**send, "client_id": str(uuid.uuid4()), "rating": 9})
    assert bad.status_code == 400 and "rating" in bad.json()
    listed = api.get(f"{url}/answers/").json()["answers"]
    assert [(a["label"], a["summary"], a["answer"], a["changeable"]) for a in listed] == [
        ("dog", "rated 2 of 5", {"rating": 2, "uninterpretable": False}, True)
    ]
    undone = api.post(f"{url}/undo/", {"client_id": send["client_id"]}, format="json")
    assert undone.status_code == 200 and undone.json()["answer"]["rating"] == 2
    assert not LabelJudgment.objects.exists()


def test_choices_over_the_api(best_of_study, annotators):
    api, url = api_for(annotators["bob"]), f"/api/annotate/{best_of_study.pk}"
    body = api.post(f"{url}/next/", {"prefetch": 0}, format="json").json()
    unit = body["units"][0]
    send = {
        "client_id": str(uuid.uuid4()),
        "neuron": unit["neuron"],
        "chosen": unit["labels"][2]["id"],
        "order_shown": [img["id"] for img in unit["images"]],
        "ms_spent": 800,
    }
    first = api.post(f"{url}/submit/", send, format="json")
    assert first.status_code == 200, first.json()
    assert api.post(f"{url}/submit/", send, format="json").json() == first.json()
    assert LabelJudgment.objects.get().chosen.label == unit["labels"][2]["label"]
    both = {**send, "client_id": str(uuid.uuid4()), "none_fits": True}
    refused = api.post(f"{url}/submit/", both, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Choose a label or say none fits, not both."}
    assert LabelJudgment.objects.count() == 1


# --- the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, keys, invite_says",
    [
        ("label_rating", "1</kbd>…<kbd>5</kbd> rate", "rate from 1 to 5"),
        ("best_of", "<kbd>0</kbd> none fits", "pick the label that describes"),
        ("pair_yes_no", "<kbd>y</kbd> all yes", "whether it relates to the label"),
    ],
)
def test_the_pages_say_what_the_study_asks(client, staff, annotators, question, keys, invite_says):
    study = build_label_study(question, {"A": ["dog"], "B": ["fur"]})
    join(study, staff, [annotators["alice"]])
    invite = study.invites.get()
    assert invite_says in client.get(f"/annotate/join/{invite.token}/").content.decode()
    client.force_login(annotators["alice"])
    page = client.get(f"/annotate/studies/{study.pk}/").content.decode()
    assert f'data-question="{question}"' in page and keys in page


def test_a_label_two_label_sets_gave_is_shown_once_and_the_choice_names_both(db, staff, annotators):
    study = build_label_study("best_of", {"A": ["dog"], "B": ["Dog "], "C": ["fur"]})
    join(study, staff, [annotators["alice"]])
    unit = first_unit(annotators["alice"], study)
    assert sorted(x["label"].strip().lower() for x in unit["labels"]) == ["dog", "fur"]
    pick = next(x for x in unit["labels"] if x["label"].strip().lower() == "dog")
    answer = {"chosen": pick["id"]}
    do_submit_unit(annotators["alice"], study, **shown(unit), label_answer=answer)
    judgment = LabelJudgment.objects.get()
    dogs = set(Neuron.objects.filter(label__in=["dog", "Dog "]).values_list("pk", flat=True))
    assert {judgment.chosen_id, *judgment.extra["same_label"]} == dogs
    assert len(judgment.extra["labels_shown"]) == 2
