"""Brute-force sign-ins are limited per (username, address) on the login page and the
token endpoint; the counters live in the cache and are removed after each test."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from annotate.api.login_throttle import failure_keys

pytestmark = pytest.mark.django_db

ADDRESS = "10.77.0.9"  # not the loopback address other tests sign in from


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.NEURONJUDGE_LOGIN_MAX_FAILURES = 3
    names = ("alice", "bob", "staff")
    yield
    cache.delete_many([key for name in names for key in failure_keys(name, ADDRESS)])


def login(client, username, password):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ADDRESS
    )


def token(api, username, password):
    return api.post(
        "/api/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=ADDRESS,
    )


def test_login_page_locks_a_username_after_repeated_failures(client, annotators):
    for _ in range(3):
        assert login(client, "alice", "wrong").status_code == 200  # form shown again
    locked = login(client, "alice", "alice-pass")
    assert locked.status_code == 429
    assert locked.json() == {
        "detail": "Too many failed sign-in attempts. Try again in up to 15 minutes."
    }
    assert locked["Retry-After"] == "900"
    # Another account from the same address still signs in.
    assert login(client, "bob", "bob-pass").status_code == 302


def test_token_endpoint_is_throttled_too(api, staff):
    for _ in range(3):
        response = token(api, "staff", "nope")
        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["Unable to log in with provided credentials."]
        }
    assert token(api, "staff", "staff-pass").status_code == 429
    assert not Token.objects.filter(user=staff).exists()


def test_successful_logins_are_not_counted(client, annotators):
    for _ in range(5):
        assert login(client, "bob", "bob-pass").status_code == 302
        client.logout()
    assert cache.get(failure_keys("bob", ADDRESS)[0]) is None
