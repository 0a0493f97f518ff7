"""The permission matrix: every operation of /api/schema/ and every page, for each kind of
user, answers the status written here. The operations and pages are read from the schema
and the URL configuration, so a new endpoint fails this test until its row is added.

Everything is asked of study A (owned by `owner`, with one human judgment, a finished run
and an invite); `nonmember` is staff who owns study B only.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.viewsets import ViewSetMixin

from annotate.models import Invite, StudyAnnotator, StudyRole
from evaluation.models import EvaluationRun, Judgment, Rater
from tests.api.broker import purge_queues

pytestmark = pytest.mark.django_db

USERS = (
    "anonymous",
    "annotator",
    "other_annotator",
    "crowd",
    "viewer",
    "nonmember",
    "manager",
    "owner",
    "superuser",
)

# Statuses in the order of USERS. "login" is a redirect to the login page; 302 another one.


def row(*statuses):
    assert len(statuses) == len(USERS)
    return statuses


STAFF_READ = row(403, 403, 403, 403, 200, 200, 200, 200, 200)  # global, staff-only lists
MEMBER_READ = row(403, 403, 403, 403, 200, 404, 200, 200, 200)  # study A's, staff side
MANAGE_400 = row(403, 403, 403, 403, 403, 404, 400, 400, 400)  # allowed, then a bad body
OWN_200 = row(403, 403, 403, 403, 403, 404, 403, 200, 200)
MANAGE_READ = row(403, 403, 404, 403, 403, 404, 200, 200, 200)  # study A's, managers
ANNOTATE_400 = row(403, 400, 404, 400, 404, 404, 404, 404, 404)

API = {
    "GET /api/annotate/{study_id}/answers/": row(403, 200, 404, 200, 404, 404, 404, 404, 404),
    "POST /api/annotate/{study_id}/next/": row(403, 200, 404, 200, 404, 404, 404, 404, 404),
    "POST /api/annotate/{study_id}/submit/": ANNOTATE_400,
    "POST /api/annotate/{study_id}/undo/": ANNOTATE_400,
    "POST /api/auth/token/": row(*[400] * 9),
    "GET /api/concept-sets/": STAFF_READ,
    "POST /api/concept-sets/": row(403, 403, 403, 403, 400, 400, 400, 400, 400),
    "GET /api/concept-sets/{id}/": STAFF_READ,
    "GET /api/judgments/": row(403, *[200] * 8),
    "GET /api/judgments/{id}/": row(403, 404, 404, 404, 200, 404, 200, 200, 200),
    "GET /api/neurons/": STAFF_READ,
    "GET /api/neurons/{id}/": MEMBER_READ,
    "GET /api/raters/": STAFF_READ,
    "POST /api/raters/": row(403, 403, 403, 403, 400, 400, 400, 400, 400),
    "GET /api/raters/{id}/": STAFF_READ,
    "GET /api/reports/{study_id}/": MEMBER_READ,
    "GET /api/reports/{study_id}/judgments/": MEMBER_READ,
    "GET /api/reports/{study_id}/matrix/": MEMBER_READ,
    "GET /api/reports/{study_id}/table/": MEMBER_READ,
    "GET /api/runs/": STAFF_READ,
    # Another study's id "does not exist" (400), a viewer may not start runs (403).
    "POST /api/runs/": row(403, 403, 403, 403, 403, 400, 201, 201, 201),
    "GET /api/runs/{id}/": MEMBER_READ,
    "POST /api/runs/{id}/cancel/": row(403, 403, 403, 403, 403, 404, 409, 409, 409),
    "POST /api/runs/{id}/resume/": row(403, 403, 403, 403, 403, 404, 409, 409, 409),
    "GET /api/schema/": row(403, *[200] * 8),
    "GET /api/studies/": row(403, *[200] * 8),
    "POST /api/studies/": row(403, 403, 403, 403, 201, 201, 201, 201, 201),
    "GET /api/studies/{id}/": row(403, 200, 404, 200, 200, 404, 200, 200, 200),
    "PUT /api/studies/{id}/": row(403, 403, 403, 403, 403, 404, 200, 200, 200),
    "PATCH /api/studies/{id}/": row(403, 403, 403, 403, 403, 404, 200, 200, 200),
    # Study A has a human judgment: without confirm= nobody deletes it.
    "DELETE /api/studies/{id}/": row(403, 403, 403, 403, 403, 404, 403, 409, 409),
    "POST /api/studies/{id}/import-images/": MANAGE_400,
    "POST /api/studies/{id}/import-judgments/": MANAGE_400,
    "POST /api/studies/{id}/import-labels/": MANAGE_400,
    "POST /api/studies/{id}/sample-probe-images/": MANAGE_400,
    "GET /api/studies/{id}/members/": MEMBER_READ,
    "GET /api/studies/{study_id}/annotators/": MANAGE_READ,
    "GET /api/studies/{study_id}/invites/": MANAGE_READ,
    "POST /api/studies/{study_id}/invites/": row(403, 403, 404, 403, 403, 404, 201, 201, 201),
    "GET /api/studies/{study_id}/invites/{id}/": MANAGE_READ,
    "POST /api/studies/{study_id}/invites/{id}/revoke/": MANAGE_READ,
    "POST /api/studies/{id}/members/": OWN_200,
    "DELETE /api/studies/{id}/members/{username}/": OWN_200,
}

MEMBER_PAGE = row("login", 403, 404, 403, 200, 404, 200, 200, 200)
MANAGE_PAGE = row("login", 403, 404, 403, 403, 404, 302, 302, 302)  # 302: back to the study
REPORT_PAGE = row("login", 403, 403, 403, 200, 404, 200, 200, 200)
ANNOTATOR_PAGE = row("login", 200, 404, 200, 404, 404, 404, 404, 404)
ANNOTATOR_JSON_400 = row(403, 400, 404, 400, 404, 404, 404, 404, 404)
SIGNED_IN = row("login", *[200] * 8)

PAGES = {
    "home": SIGNED_IN,
    "study-import": row("login", "login", "login", "login", 200, 200, 200, 200, 200),
    "study-detail": MEMBER_PAGE,
    "run-start": MANAGE_PAGE,
    "run-detail": MEMBER_PAGE,
    "run-status": MEMBER_PAGE,
    "run-cancel": MANAGE_PAGE,
    "run-resume": MANAGE_PAGE,
    "study-report": REPORT_PAGE,
    "study-report-json": REPORT_PAGE,
    "study-report-disagreements": REPORT_PAGE,
    "study-report-judgments": REPORT_PAGE,
    "study-report-runs": REPORT_PAGE,
    "study-report-table": REPORT_PAGE,
    "study-report-sanity-probes": row("login", 403, 403, 403, 403, 404, 302, 302, 302),
    "cross-study-report": row("login", 403, 403, 403, 200, 200, 200, 200, 200),
    "annotation-page": ANNOTATOR_PAGE,
    # The image URL of a lease alice holds: nobody else may use it.
    "annotation-image": row("login", 200, 404, 404, 404, 404, 404, 404, 404),
    "annotation-next": row(403, 200, 404, 200, 404, 404, 404, 404, 404),
    "annotation-submit": ANNOTATOR_JSON_400,
    "annotation-undo": ANNOTATOR_JSON_400,
    "annotation-manage": row("login", 403, 404, 403, 403, 404, 200, 200, 200),
    "annotation-answers": row(403, 200, 404, 200, 404, 404, 404, 404, 404),
    "study-add": row("login", 403, 404, 403, 403, 404, 200, 200, 200),
    "study-sample-probe-images": MANAGE_PAGE,
    "api-root": row(403, *[200] * 8),
    "api-docs": SIGNED_IN,
    "api-redoc": SIGNED_IN,
}
# Named URLs that are no staff page: public sign-in, and invite links whose token is the
# permission (tested with the invites).
NOT_PAGES = {"login", "logout", "annotation-join", "annotation-crowd", "media"}
POSTED = {
    "run-start",
    "run-cancel",
    "run-resume",
    "study-report-sanity-probes",
    "annotation-next",
    "annotation-submit",
    "annotation-undo",
    "study-sample-probe-images",
}


@pytest.fixture
def world(make_study, annotators):
    """Study A owned by `owner` with a member of each role; study B owned by `nonmember`."""
    User = get_user_model()
    study_a, study_b = make_study("A", neurons=2, k=2), make_study("B", neurons=1, k=1)
    users = {"annotator": annotators["alice"], "other_annotator": annotators["bob"]}
    for name in ("viewer", "nonmember", "manager", "owner"):
        users[name] = User.objects.create_user(name, is_staff=True)
    users["superuser"] = User.objects.create_user("root", is_staff=True, is_superuser=True)
    users["crowd"] = User.objects.create_user("prolific-1-abc")
    study_a.owner = users["owner"]
    study_a.save()
    for name in ("viewer", "manager", "owner"):
        StudyRole.objects.create(study=study_a, user=users[name], role=name)
    StudyRole.objects.create(study=study_b, user=users["nonmember"], role="owner")
    StudyAnnotator.objects.create(study=study_a, user=users["annotator"])
    StudyAnnotator.objects.create(study=study_b, user=users["other_annotator"])
    StudyAnnotator.objects.create(
        study=study_a, user=users["crowd"], platform="prolific", participant_id="abc"
    )
    from annotate.annotation.units import do_sync_units

    do_sync_units(study_a)
    pair = study_a.neurons.first().images.first()
    human = Rater.objects.create(name="human:alice", kind="human", user=users["annotator"])
    Judgment.objects.create(rater=human, neuron_image=pair, verdict="yes")
    model = Rater.objects.create(name="es", kind="openclip_es")
    judged = Judgment.objects.create(rater=model, neuron_image=pair, verdict="no")
    run = EvaluationRun.objects.create(rater=model, study=study_a, status="done")
    invite = Invite.objects.create(study=study_a, token="tok-a")
    from annotate.annotation.assignment import access_next_unit

    [unit] = access_next_unit(users["annotator"], study_a, prefetch=0)["units"]
    lease_id, opaque = unit["images"][0]["url"].rstrip("/").split("/")[-2:]
    from annotate.models import ConceptSet

    concepts = ConceptSet.objects.create(name="c", concepts=["dog"], sha256="0" * 64)
    return {
        "users": users,
        "study": study_a,
        "pair": pair,
        "run": run,
        "rater": model,
        "judgment": judged,
        "invite": invite,
        "concepts": concepts,
        "image_url_args": [study_a.pk, int(lease_id), opaque],
    }


def client_for(world, who: str) -> APIClient:
    client = APIClient()
    if who != "anonymous":
        client.force_login(world["users"][who])
    return client


def schema_operations() -> list[str]:
    superuser = get_user_model().objects.create_user("schema-reader", is_superuser=True)
    client = APIClient()
    client.force_authenticate(superuser)
    paths = client.get("/api/schema/?format=json").json()["paths"]
    methods = ("get", "post", "put", "patch", "delete")
    return sorted(f"{m.upper()} {p}" for p, ops in paths.items() for m in ops if m in methods)


def test_every_schema_operation_has_a_row_in_the_matrix():
    assert schema_operations() == sorted(API)


def named_urls(patterns=None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith("admin/"):
                names |= named_urls(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and pattern.name:
            view = getattr(pattern.callback, "cls", None)
            if not (view and issubclass(view, ViewSetMixin)):  # the API rows cover those
                names.add(pattern.name)
    return names - {"api-schema", "api-token"}


def test_every_page_has_a_row_in_the_matrix():
    assert named_urls() - NOT_PAGES == set(PAGES)


def api_request(world, operation: str):
    method, path = operation.split(" ", 1)
    study, run = world["study"], world["run"]
    ids = {
        "/api/concept-sets/": world["concepts"].pk,
        "/api/judgments/": world["judgment"].pk,
        "/api/neurons/": world["pair"].neuron_id,
        "/api/raters/": world["rater"].pk,
        "/api/runs/": run.pk,
        "/api/studies/": study.pk,
    }
    object_id = next((v for k, v in ids.items() if path.startswith(k)), None)
    if "/invites/{id}" in path:
        object_id = world["invite"].pk
    url = path.format(id=object_id, study_id=study.pk, username="viewer")
    bodies = {
        "POST /api/annotate/{study_id}/next/": {"prefetch": 0},
        "POST /api/runs/": {"study": study.pk, "rater": world["rater"].pk},
        "POST /api/studies/": {"name": "new", "target_network": "n", "probe_dataset": "p"},
        "PUT /api/studies/{id}/": {"name": "A", "target_network": "n", "probe_dataset": "p"},
        "PATCH /api/studies/{id}/": {"notes": "changed"},
        "POST /api/studies/{id}/members/": {"user": "nonmember", "role": "viewer"},
        "POST /api/studies/{study_id}/invites/": {"kind": "account"},
    }
    multipart = "/import-" in path or operation == "POST /api/concept-sets/"
    body = bodies.get(operation, {})
    return method.lower(), url, body, "multipart" if multipart else "json"


@pytest.fixture
def broker():
    """Starting a run publishes to the real broker; no message outlives the test."""
    purge_queues()
    yield
    purge_queues()


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("operation", sorted(API))
def test_api_permission_matrix(world, broker, operation, who):
    method, url, body, fmt = api_request(world, operation)
    response = getattr(client_for(world, who), method)(url, body, format=fmt)
    assert response.status_code == API[operation][USERS.index(who)], response.content[:300]


def page_request(world, name: str):
    from django.urls import reverse

    study, run = world["study"], world["run"]
    args = {
        "study-detail": [study.pk],
        "run-start": [study.pk],
        "run-detail": [run.pk],
        "run-status": [run.pk],
        "run-cancel": [run.pk],
        "run-resume": [run.pk],
        "study-report": [study.pk],
        "study-report-json": [study.pk],
        "study-report-disagreements": [study.pk],
        "study-report-judgments": [study.pk, "csv"],
        "study-report-runs": [study.pk, "csv"],
        "study-report-table": [study.pk, "pairwise", "csv"],
        "study-report-sanity-probes": [study.pk],
        "annotation-page": [study.pk],
        "annotation-image": world["image_url_args"],
        "annotation-next": [study.pk],
        "annotation-submit": [study.pk],
        "annotation-undo": [study.pk],
        "annotation-manage": [study.pk],
        "annotation-answers": [study.pk],
        "study-add": [study.pk],
        "study-sample-probe-images": [study.pk],
    }
    return ("post" if name in POSTED else "get"), reverse(name, args=args.get(name, []))


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_permission_matrix(world, name, who):
    method, url = page_request(world, name)
    client = client_for(world, who)
    if name.startswith("annotation-") and method == "post":
        response = client.post(url, b"{}", content_type="application/json")
    else:
        response = getattr(client, method)(url)
    expected = PAGES[name][USERS.index(who)]
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    else:
        assert response.status_code == expected, response.content[:300]
        if expected == 302:
            assert not response["Location"].startswith("/accounts/login/")
