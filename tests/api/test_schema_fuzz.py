"""Fuzz every API operation from the API's own OpenAPI schema: no input may cause a 500.

Bounded: a few generated requests per operation, anonymous and signed in as the study's
owner, a staff member of another study, a superuser and an annotator. Starting or resuming
a run publishes to the real broker, whose queues are emptied before and after.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error

from evaluation.models import Rater
from tests.api.broker import purge_queues

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def broker():
    purge_queues()
    yield
    purge_queues()


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the test's connection at each request, as
    Django's own test client prevents; do the same here."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def token_headers(user) -> dict:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def fuzz_as(schema_reader, user) -> int:
    """Run every operation's generated cases as `user` (None: anonymous); returns how many
    requests were made. The schema is read as `schema_reader`: anonymous users get none."""
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=token_headers(schema_reader)
    )
    headers = token_headers(user) if user is not None else {}
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            nonlocal calls
            calls += 1
            case.headers = {k: v for k, v in (case.headers or {}).items() if k != "Authorization"}
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
    return calls


def test_no_generated_request_causes_a_server_error(
    staff, annotators, make_study, django_user_model, broker, keep_test_connection,
    django_capture_on_commit_callbacks,
):
    from annotate.models import StudyAnnotator, StudyRole

    study = make_study("fuzz", neurons=2, k=2)  # owned by `staff`
    other = make_study("other", neurons=1, k=1)
    StudyAnnotator.objects.create(study=study, user=annotators["alice"])
    outsider = django_user_model.objects.create_user("outsider", is_staff=True)
    StudyRole.objects.create(study=other, user=outsider, role="owner")
    root = django_user_model.objects.create_user("root", is_staff=True, is_superuser=True)
    for user in (staff, outsider, root, annotators["alice"], None):
        assert fuzz_as(staff, user) > 100
    # Starting a run through the API reaches the real broker: its message is waiting there.
    rater = Rater.objects.create(name="es", kind="openclip_es")
    client = APIClient()
    client.force_authenticate(staff)
    with django_capture_on_commit_callbacks(execute=True):  # runs are published after commit
        started = client.post("/api/runs/", {"study": study.pk, "rater": rater.pk}, format="json")
    assert started.status_code == 201, started.json()
    assert purge_queues() >= 1
