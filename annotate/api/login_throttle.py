"""Brute-force guard for the login page and the API token endpoint.

Failed sign-ins are counted in the cache per (username, client address) and per address;
past the limit further attempts get 429 until the window passes. Counting happens in the
`user_login_failed` signal, which both Django's login form and DRF's token serializer fire.
If the cache is down the guard lets requests through (and logs it) rather than lock
everyone out.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import JsonResponse
from django.urls import reverse

log = logging.getLogger(__name__)

PER_ADDRESS_FACTOR = 5  # an address may fail this many times more, over all usernames


def guarded_paths() -> set[str]:
    return {reverse("login"), reverse("api-token")}


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _key(*parts: str) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"login-fail:{digest}"


def failure_keys(username: str, address: str) -> tuple[str, str]:
    return _key("user", username.strip().lower(), address), _key("addr", address)


def _limits() -> tuple[int, int]:
    per_user = settings.NEURONJUDGE_LOGIN_MAX_FAILURES
    return per_user, per_user * PER_ADDRESS_FACTOR


def is_locked(username: str, address: str) -> bool:
    user_key, addr_key = failure_keys(username, address)
    per_user, per_address = _limits()
    counts = cache.get_many([user_key, addr_key])
    return counts.get(user_key, 0) >= per_user or counts.get(addr_key, 0) >= per_address


def record_failure(username: str, address: str) -> None:
    window = settings.NEURONJUDGE_LOGIN_WINDOW_SECONDS
    for key in failure_keys(username, address):
        cache.add(key, 0, timeout=window)  # the window starts at the first failure
        cache.incr(key)


@receiver(user_login_failed, dispatch_uid="neuronjudge-login-throttle")
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    try:
        record_failure(str(credentials.get("username", "")), client_address(request))
    except Exception as exc:  # the cache is down: do not turn a bad password into a 500
        log.warning("login throttle could not count a failure: %s", exc)


def _username(request) -> str:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return ""
        return str(body.get("username", "")) if isinstance(body, dict) else ""
    return request.POST.get("username", "")


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in guarded_paths():
            try:
                locked = is_locked(_username(request), client_address(request))
            except Exception as exc:
                log.warning("login throttle could not read the cache: %s", exc)
                locked = False
            if locked:
                minutes = max(1, settings.NEURONJUDGE_LOGIN_WINDOW_SECONDS // 60)
                response = JsonResponse(
                    {
                        "detail": "Too many failed sign-in attempts. "
                        f"Try again in up to {minutes} minutes."
                    },
                    status=429,
                )
                response["Retry-After"] = str(settings.NEURONJUDGE_LOGIN_WINDOW_SECONDS)
                return response
        return self.get_response(request)
