"""Each API resource through HTTP, asserting whole JSON bodies (pretix style)."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

from annotate.models import Study
from evaluation.models import EvaluationRun, Rater
from tests.helpers import page

pytestmark = pytest.mark.django_db


def ts(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def study_json(study: Study, **overrides) -> dict:
    body = {
        "id": study.pk,
        "name": study.name,
        "target_network": "resnet50",
        "layers": ["layer1"],
        "probe_dataset": "generated",
        "concept_set": study.concept_set_id,
        "method": "clip_dissect",
        "question_type": "pair_yes_no",
        "k": study.k,
        "overlap": 3,
        "notes": "",
        "owner": None,
        "is_demo": False,
        "label_sets": [
            {
                "id": ls.pk,
                "name": ls.name,
                "method": ls.method,
                "settings": {},
                "notes": "",
                "neurons": ls.neurons.count(),
                "created": ts(ls.created),
            }
            for ls in study.label_sets.order_by("pk")
        ],
        "created": ts(study.created),
    }
    return {**body, **overrides}


def test_staff_lists_and_reads_studies(staff_api, make_study):
    first, second = make_study("first", neurons=1, k=1), make_study("second", neurons=1, k=1)
    assert staff_api.get("/api/studies/").json() == page([study_json(first), study_json(second)])
    assert staff_api.get(f"/api/studies/{second.pk}/").json() == study_json(second)
    assert staff_api.get("/api/studies/?name=SEC").json() == page([study_json(second)])


def test_staff_creates_a_study_and_owns_it(staff_api, staff):
    body = {"name": "ResNet-50 Broden", "target_network": "resnet50", "probe_dataset": "broden"}
    response = staff_api.post("/api/studies/", body, format="json")
    assert response.status_code == 201, response.json()
    study = Study.objects.get(name="ResNet-50 Broden")
    assert study.owner == staff
    assert response.json() == {
        **study_json(study, owner="staff", layers=[], probe_dataset="broden", k=5),
    }


def test_study_create_refuses_out_of_range_k(staff_api):
    body = {"name": "x", "target_network": "n", "probe_dataset": "p", "k": 0}
    response = staff_api.post("/api/studies/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"k": ["Ensure this value is greater than or equal to 1."]}
    assert not Study.objects.exists()


def test_concept_sets_list_without_concepts_and_detail_with(staff_api, make_study):
    study = make_study("cs", neurons=1, k=1, concepts=["red", "blue"])
    cs = study.concept_set
    summary = {
        "id": cs.pk,
        "name": "cs-concepts",
        "size": 2,
        "sha256": cs.sha256,
        "created": ts(cs.created),
    }
    assert staff_api.get("/api/concept-sets/").json() == page([summary])
    detail = staff_api.get(f"/api/concept-sets/{cs.pk}/").json()
    assert detail == {**summary, "concepts": ["red", "blue"]}


def test_neurons_carry_their_images_and_filter_by_layer_and_role(staff_api, make_study):
    study = make_study("n", neurons=2, k=2)
    neuron = study.neurons.get(unit=1)
    pairs = list(neuron.images.select_related("image").order_by("rank"))
    expected = {
        "id": neuron.pk,
        "study": study.pk,
        "label_set": neuron.label_set_id,
        "layer": "layer1",
        "unit": 1,
        "label": "concept1",
        "method_score": None,
        "score_name": "",
        "category": "",
        "alternatives": [],
        "role": "real",
        "source": None,
        "images": [
            {
                "id": p.pk,
                "rank": p.rank,
                "activation": None,
                "is_distractor": False,
                "sha256": p.image.sha256,
                "width": 32,
                "height": 32,
                "url": p.image.file.url,
            }
            for p in pairs
        ],
    }
    assert staff_api.get(f"/api/neurons/{neuron.pk}/").json() == expected
    assert staff_api.get(f"/api/neurons/?study={study.pk}&unit=1").json() == page([expected])
    assert staff_api.get("/api/neurons/?layer=layer9").json() == page([])
    assert staff_api.get("/api/neurons/?role=generic_label").json() == page([])
    assert staff_api.get("/api/neurons/?layer=layer1").json()["count"] == 2


def test_lists_are_paginated(staff_api, make_study):
    make_study("p", neurons=3, k=1)
    body = staff_api.get("/api/neurons/?limit=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("/api/neurons/?limit=2&offset=2")


def test_staff_creates_an_automatic_rater(staff_api):
    body = {"name": "ES 0.3", "kind": "openclip_es", "params": {"threshold": 0.3}}
    response = staff_api.post("/api/raters/", body, format="json")
    assert response.status_code == 201
    rater = Rater.objects.get(name="ES 0.3")
    assert response.json() == {
        "id": rater.pk,
        "name": "ES 0.3",
        "kind": "openclip_es",
        "params": {  # defaults filled in, so equal configurations are one rater
            "model": "ViT-B-32",
            "pretrained": "laion2b_s34b_b79k",
            "precision": "fp32",
            "threshold": 0.3,
            "checkpoint_sha256": None,
            "preprocess": "open_clip eval transform of the model/tag (resize, centre crop, "
            "normalise)",
        },
        "params_sha256": rater.params_sha256,
        "user": None,
        "created": ts(rater.created),
    }
    again = staff_api.post("/api/raters/", {**body, "name": "copy"}, format="json")
    assert again.status_code == 400
    assert again.json() == {
        "non_field_errors": [
            f"Rater 'ES 0.3' (id {rater.pk}) already has this kind and these parameters."
        ]
    }


def test_raters_refuse_unknown_parameters(staff_api):
    body = {"name": "x", "kind": "openclip_es", "params": {"threshold": "high"}}
    response = staff_api.post("/api/raters/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"params": ["threshold must be a number, got 'high'"]}
    assert not Rater.objects.exists()


def test_raters_refuse_human_kind(staff_api):
    response = staff_api.post("/api/raters/", {"name": "h", "kind": "human"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"kind": ['"human" is not a valid choice.']}
    assert not Rater.objects.exists()


def run_json(run: EvaluationRun, **overrides) -> dict:
    body = {
        "id": run.pk,
        "study": run.study_id,
        "rater": run.rater_id,
        "status": run.status,
        "progress": run.progress,
        "done_pairs": run.done_pairs,
        "total_pairs": run.total_pairs,
        "options": run.options,
        "created": ts(run.created),
        "started_at": ts(run.started_at),
        "finished_at": ts(run.finished_at),
        "wall_seconds": None,
        "stage_seconds": {},
        "notes": {},
        "error": "",
        "created_by": "staff",
    }
    return {**body, **overrides}


@pytest.fixture
def es_rater():
    return Rater.objects.create(name="es", kind="openclip_es", params={"threshold": 0.25})


def test_creating_a_run_starts_it_and_cancel_then_resume(
    staff_api, make_study, es_rater, django_capture_on_commit_callbacks
):
    study = make_study("r", neurons=2, k=2)
    body = {"study": study.pk, "rater": es_rater.pk, "options": {"batch_size": 8}}
    response = staff_api.post("/api/runs/", body, format="json")
    assert response.status_code == 201, response.json()
    run = EvaluationRun.objects.get()
    assert response.json() == run_json(run, status="queued", total_pairs=4)
    assert staff_api.get(f"/api/runs/{run.pk}/").json() == run_json(run)

    conflict = staff_api.post("/api/runs/", body, format="json")
    assert conflict.status_code == 400
    assert conflict.json() == {"detail": "es already has a queued or running run on r"}

    cancelled = staff_api.post(f"/api/runs/{run.pk}/cancel/")
    run.refresh_from_db()
    assert cancelled.json() == run_json(run, status="cancelled")
    again = staff_api.post(f"/api/runs/{run.pk}/cancel/")
    assert again.status_code == 409
    assert again.json() == {"detail": f"Run {run.pk} is cancelled, not queued or running."}

    resumed = staff_api.post(f"/api/runs/{run.pk}/resume/")
    run.refresh_from_db()
    assert resumed.json() == run_json(run, status="queued", finished_at=None)
    assert staff_api.get(f"/api/runs/?status=queued&study={study.pk}").json() == page(
        [run_json(run)]
    )


def test_run_refuses_a_human_rater_and_bad_options(staff_api, make_study, annotators, es_rater):
    study = make_study("r2", neurons=1, k=1)
    human = Rater.objects.create(name="human:alice", kind="human", user=annotators["alice"])
    response = staff_api.post("/api/runs/", {"study": study.pk, "rater": human.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"rater": [f'Invalid pk "{human.pk}" - object does not exist.']}
    bad = {"study": study.pk, "rater": es_rater.pk, "options": {"batch_size": -3}}
    response = staff_api.post("/api/runs/", bad, format="json")
    assert response.json() == {"options": ["batch_size must be a whole number 1..1000000."]}
    assert not EvaluationRun.objects.exists()


def test_staff_list_judgments_filtered_by_study_and_rater(staff_api, make_study, human_judgment):
    study = make_study("j", neurons=1, k=2)
    first, second = study.neurons.get().images.order_by("rank")
    j1 = human_judgment("alice", first, "yes")
    human_judgment("bob", second, "no")
    expected = {
        "id": j1.pk,
        "rater": j1.rater_id,
        "study": study.pk,
        "neuron": first.neuron_id,
        "neuron_image": first.pk,
        "rank": 1,
        "verdict": "yes",
        "score": None,
        "extra": {},
        "submission": None,
        "created": ts(j1.created),
    }
    url = f"/api/judgments/?study={study.pk}&rater={j1.rater_id}"
    assert staff_api.get(url).json() == page([expected])
    assert staff_api.get("/api/judgments/?verdict=no").json()["count"] == 1


def test_token_endpoint_gives_a_token_that_authenticates(api, staff):
    response = api.post(
        "/api/auth/token/", {"username": "staff", "password": "staff-pass"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json() == {"token": staff.auth_token.key}
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/studies/").status_code == 200


def test_schema_and_docs_are_served_locally(staff_api, client, staff):
    schema = staff_api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/studies/", "/api/runs/{id}/cancel/", "/api/judgments/"} <= set(paths)
    client.force_login(staff)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content
    assert b"cdn" not in docs.content.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")


def test_concept_set_list_does_not_load_the_concepts(
    staff_api, make_study, django_assert_max_num_queries
):
    for name in ("a", "b", "c"):
        make_study(name, neurons=1, k=1, concepts=["red", "blue", name])
    with django_assert_max_num_queries(4):
        body = staff_api.get("/api/concept-sets/").json()
    assert [c["size"] for c in body["results"]] == [3, 3, 3]


def test_neuron_and_judgment_lists_take_a_fixed_number_of_queries(
    staff_api, make_study, human_judgment, django_assert_max_num_queries
):
    study = make_study("q", neurons=6, k=3)
    for pair in study.neurons.first().images.all():
        human_judgment("alice", pair)
    with django_assert_max_num_queries(4):
        assert staff_api.get("/api/neurons/").json()["count"] == 6
    with django_assert_max_num_queries(3):
        assert staff_api.get("/api/judgments/").json()["count"] == 3
