"""A small study that alice and bob annotate; charlie is in no study."""

import pytest

from annotate.annotation.members import do_create_invite, do_join_study
from annotate.models import AnnotationSettings
from tests.helpers import chromium_page


@pytest.fixture
def study(make_study, staff, annotators):
    study = make_study("annotated", neurons=6, k=3)
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0)
    invite = do_create_invite(study, staff)
    for name in ("alice", "bob"):
        do_join_study(annotators[name], invite)
    return study


@pytest.fixture
def page(live_server, monkeypatch):
    """Debian's Chromium, headless. Playwright's sync API runs an event loop in this thread;
    Django's ORM calls are still safe, so async-unsafe calls are allowed for this test only
    (left set, it would leak into `check --deploy` elsewhere)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_page(1280, 760) as page:
        yield page
