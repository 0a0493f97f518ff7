"""Brute-force sign-ins are slowed per (username, client address) on the login page and the
token endpoint, with a wait that doubles; the counters live in PostgreSQL, so they hold when
the cache is down, and the client address comes from X-Forwarded-For only via a trusted
proxy."""

from __future__ import annotations

import ipaddress
import secrets

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotate.api.client_address import client_address
from annotate.models import LoginFailure
from config.env import EnvError, envnetworks

pytestmark = pytest.mark.django_db

ADDRESS = "10.77.0.9"
PROXY = "10.1.0.2"
CLOSED_PORT_CACHE = "redis://127.0.0.1:9/0"  # discard port: nothing listens there


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.NEURONJUDGE_LOGIN_MAX_FAILURES = 3
    settings.NEURONJUDGE_LOGIN_BACKOFF_SECONDS = 30
    settings.NEURONJUDGE_LOGIN_MAX_WAIT_SECONDS = 100
    settings.NEURONJUDGE_TRUSTED_PROXIES = []


def login(client, username, password, **meta):
    meta.setdefault("REMOTE_ADDR", ADDRESS)
    return client.post("/accounts/login/", {"username": username, "password": password}, **meta)


def token(api, username, password):
    return api.post(
        "/api/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=ADDRESS,
    )


def wait_is_over():
    LoginFailure.objects.update(locked_until=timezone.now())


def test_login_page_makes_a_pair_wait_after_repeated_failures(client, annotators):
    for _ in range(3):
        assert login(client, "alice", "wrong").status_code == 200  # form shown again
    locked = login(client, "alice", "alice-pass")
    assert locked.status_code == 429
    assert locked.json() == {"detail": "Too many failed sign-in attempts. Try again in 30 seconds."}
    assert locked["Retry-After"] == "30"
    # Another account from the same address still signs in.
    assert login(client, "bob", "bob-pass").status_code == 302


def test_the_wait_doubles_with_each_further_failure_up_to_the_longest(client, annotators):
    for _ in range(3):
        login(client, "alice", "wrong")
    waits = []
    for _ in range(3):
        waits.append(login(client, "alice", "alice-pass")["Retry-After"])
        wait_is_over()
        assert login(client, "alice", "wrong").status_code == 200
    assert waits == ["30", "60", "100"]
    wait_is_over()
    assert login(client, "alice", "alice-pass").status_code == 302


def test_failures_on_random_usernames_do_not_lock_a_real_users_login(client, annotators):
    for _ in range(50):
        assert login(client, secrets.token_hex(6), "guess").status_code == 200
    assert login(client, "alice", "alice-pass").status_code == 302


def test_a_correct_sign_in_clears_the_pairs_failures(client, annotators):
    for _ in range(2):
        login(client, "alice", "wrong")
    assert LoginFailure.objects.get().failures == 2
    assert login(client, "alice", "alice-pass").status_code == 302
    assert not LoginFailure.objects.exists()


def test_usernames_mistyped_as_passwords_are_not_stored(client, annotators):
    login(client, "my-secret-password", "wrong")
    [row] = LoginFailure.objects.values_list("key", flat=True)
    assert "secret" not in row and len(row) == 64


def test_token_endpoint_is_throttled_too(api, staff):
    for _ in range(3):
        response = token(api, "staff", "nope")
        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["Unable to log in with provided credentials."]
        }
    assert token(api, "staff", "staff-pass").status_code == 429
    assert not Token.objects.filter(user=staff).exists()


def test_the_throttle_holds_when_the_cache_is_down(client, annotators, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_PORT_CACHE,
        }
    }
    for _ in range(3):
        assert login(client, "alice", "wrong").status_code == 200
    assert login(client, "alice", "alice-pass").status_code == 429


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(client, annotators):
    for n in range(3):
        login(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    fresh_claim = login(client, "alice", "alice-pass", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert fresh_claim.status_code == 429


def test_clients_behind_a_trusted_proxy_are_told_apart(client, annotators, settings):
    settings.NEURONJUDGE_TRUSTED_PROXIES = envnetworks("X", "10.1.0.0/16")
    via_proxy = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.1"}
    for _ in range(3):
        login(client, "alice", "wrong", **via_proxy)
    assert login(client, "alice", "alice-pass", **via_proxy).status_code == 429
    via_proxy["HTTP_X_FORWARDED_FOR"] = "192.0.2.2"  # another client behind the same proxy
    assert login(client, "alice", "alice-pass", **via_proxy).status_code == 302


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", "192.0.2.1", "203.0.113.5"),  # untrusted peer: header ignored
        (PROXY, "192.0.2.1", "192.0.2.1"),
        (PROXY, "spoofed, 198.51.100.7, 10.1.0.3", "198.51.100.7"),  # right-most untrusted
        (PROXY, "", PROXY),
        (PROXY, "10.1.0.3", "10.1.0.3"),  # every hop trusted: the farthest one
    ],
)
def test_client_address(settings, peer, forwarded, expected):
    settings.NEURONJUDGE_TRUSTED_PROXIES = [ipaddress.ip_network("10.1.0.0/16")]
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_a_bad_trusted_proxy_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("NEURONJUDGE_TRUSTED_PROXIES", "10.0.0.1, proxy.local")
    with pytest.raises(EnvError, match="NEURONJUDGE_TRUSTED_PROXIES: 'proxy.local' is not an IP"):
        envnetworks("NEURONJUDGE_TRUSTED_PROXIES", "")
