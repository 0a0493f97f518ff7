"""A small study that alice and bob annotate; charlie is in no study."""

import pytest

from annotate.annotation.members import do_create_invite, do_join_study
from annotate.models import AnnotationSettings


@pytest.fixture
def study(make_study, staff, annotators):
    study = make_study("annotated", neurons=6, k=3)
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0)
    invite = do_create_invite(study, staff)
    for name in ("alice", "bob"):
        do_join_study(annotators[name], invite)
    return study


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def page(live_server, monkeypatch):
    """Debian's Chromium, headless. Playwright's sync API runs an event loop in this thread;
    Django's ORM calls are still safe, so async-unsafe calls are allowed for this test only
    (left set, it would leak into `check --deploy` elsewhere)."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.set_default_timeout(60_000)  # a busy CI machine can be slow; failures stay failures
        yield page
        browser.close()
