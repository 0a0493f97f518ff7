"""Brute-force guard for the login page and the API token endpoint.

Failed sign-ins are counted per (username, client address) in PostgreSQL: the first
NEURONJUDGE_LOGIN_MAX_FAILURES are free, then each further failure makes the pair wait,
twice as long each time, up to NEURONJUDGE_LOGIN_MAX_WAIT_SECONDS. A correct sign-in clears
the pair. Counting per pair means that failures on other usernames from one address (a
proxy that everyone shares, or someone guessing names) never lock a real user out.

The counters are not in the cache: a Redis outage must not open the guard, and a database
outage already stops every sign-in. Counting happens in the `user_login_failed` signal,
which both Django's login form and DRF's token serializer fire.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import InterfaceError, OperationalError, transaction
from django.dispatch import receiver
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone

from annotate.api.client_address import client_address
from annotate.api.faults import page_unavailable, unavailable_message
from annotate.models import LoginFailure


def guarded_paths() -> set[str]:
    return {reverse("login"), reverse("api-token")}


def failure_key(username: str, address: str) -> str:
    return hashlib.sha256(f"{username.strip().lower()}\x00{address}".encode()).hexdigest()


def wait_seconds(username: str, address: str) -> int:
    """How long the pair must wait before its next attempt (0: it may try now)."""
    locked_until = (
        LoginFailure.objects.filter(key=failure_key(username, address))
        .values_list("locked_until", flat=True)
        .first()
    )
    if locked_until is None:
        return 0
    return max(0, math.ceil((locked_until - timezone.now()).total_seconds()))


def backoff(failures: int) -> int:
    """The wait after the pair's `failures`-th failure in a row."""
    over = failures - settings.NEURONJUDGE_LOGIN_MAX_FAILURES
    if over < 0:
        return 0
    longest = settings.NEURONJUDGE_LOGIN_MAX_WAIT_SECONDS
    return min(longest, settings.NEURONJUDGE_LOGIN_BACKOFF_SECONDS * 2 ** min(over, 32))


def do_record_failure(username: str, address: str) -> LoginFailure:
    now = timezone.now()
    forgotten = now - timedelta(seconds=settings.NEURONJUDGE_LOGIN_FORGET_SECONDS)
    with transaction.atomic():
        row, created = LoginFailure.objects.select_for_update().get_or_create(
            key=failure_key(username, address), defaults={"last_failure": now}
        )
        if not created and row.last_failure < forgotten:
            row.failures = 0
        row.failures += 1
        row.last_failure = now
        wait = backoff(row.failures)
        row.locked_until = now + timedelta(seconds=wait) if wait else None
        row.save()
    LoginFailure.objects.filter(last_failure__lt=forgotten).delete()
    return row


def do_clear_failures(username: str, address: str) -> None:
    LoginFailure.objects.filter(key=failure_key(username, address)).delete()


@receiver(user_login_failed, dispatch_uid="neuronjudge-login-throttle")
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is not None:
        do_record_failure(str(credentials.get("username", "")), client_address(request))


@receiver(user_logged_in, dispatch_uid="neuronjudge-login-throttle-clear")
def _clear_on_success(sender, request=None, user=None, **kwargs):
    if request is not None and user is not None:
        do_clear_failures(user.get_username(), client_address(request))


def _username(request) -> str:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return ""
        return str(body.get("username", "")) if isinstance(body, dict) else ""
    return request.POST.get("username", "")


def too_many_attempts(wait: int) -> JsonResponse:
    response = JsonResponse(
        {"detail": f"Too many failed sign-in attempts. Try again in {wait} seconds."},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


class LoginThrottleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in guarded_paths():
            try:
                wait = wait_seconds(_username(request), client_address(request))
            except (OperationalError, InterfaceError) as exc:  # no sign-in works now: say so
                return page_unavailable(exc, unavailable_message(exc))
            if wait:
                return too_many_attempts(wait)
        return self.get_response(request)
