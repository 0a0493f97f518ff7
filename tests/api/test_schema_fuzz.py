"""Fuzz every API operation from the API's own OpenAPI schema: no input may cause a 500.

Bounded: a few generated requests per operation, as staff (who reach every operation) and
as an annotator. Queue messages are recorded instead of sent, so no worker sees them.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def no_queue(monkeypatch):
    sent: list = []
    monkeypatch.setattr("evaluation.run_actions._send", sent.extend)
    return sent


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly would close the test's connection at each request, as
    Django's own test client prevents; do the same here."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def fuzz_as(user) -> int:
    """Run every operation's generated cases; returns how many requests were made."""
    headers = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=headers
    )
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
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
    return calls


def test_no_generated_request_causes_a_server_error(
    staff, annotators, make_study, no_queue, keep_test_connection
):
    from annotate.models import StudyAnnotator

    study = make_study("fuzz", neurons=2, k=2)
    StudyAnnotator.objects.create(study=study, user=annotators["alice"])
    assert fuzz_as(staff) > 100
    assert fuzz_as(annotators["alice"]) > 100
