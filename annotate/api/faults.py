"""When PostgreSQL or Redis is briefly unavailable, users get a 503 that says so; an
oversized API request body gets a 413 in JSON.

Without this a dropped database connection shows a traceback page (DEBUG) or a bare 500.
The API answers JSON through DRF's exception handler; pages get a short plain-text 503.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError
from django.db import OperationalError as DatabaseError
from django.http import HttpResponse
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "30"


def unavailable_message(exc: BaseException) -> str | None:
    """A message for users if `exc` means a backing service is down, else None."""
    from evaluation.run_actions import QueueUnavailable

    if isinstance(exc, QueueUnavailable):
        return str(exc)
    if isinstance(exc, (DatabaseError, InterfaceError)):
        return "The database is unavailable right now; nothing was saved. Try again shortly."
    if isinstance(exc, (BrokerError, RedisConnectionError, RedisTimeoutError)):
        return "The task queue or cache is unavailable right now. Try again shortly."
    return None


def api_exception_handler(exc, context):
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"Request body too large: the limit is {limit:,} bytes outside uploaded files."
        if isinstance(exc, TooManyFieldsSent):
            detail = "Request has too many fields."
        return Response({"detail": detail}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    message = unavailable_message(exc)
    if message is None:
        return drf_exception_handler(exc, context)
    log.warning("service unavailable: %s: %s", type(exc).__name__, exc)
    response = Response({"detail": message}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


class ServiceUnavailableMiddleware:
    """Pages: a database or Redis outage becomes a 503 with a message, not a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        message = unavailable_message(exc)
        if message is None:
            return None
        return page_unavailable(exc, message)


def page_unavailable(exc: BaseException, message: str) -> HttpResponse:
    log.warning("service unavailable: %s: %s", type(exc).__name__, exc)
    response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response
