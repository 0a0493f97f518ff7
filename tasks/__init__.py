"""Celery tasks. Importing this package registers them with the app."""

from tasks import evaluation, maintenance  # noqa: F401
