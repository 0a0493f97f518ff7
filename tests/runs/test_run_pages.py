"""The study page's runs panel in Chromium, and the run page, for runs that fail."""

from pathlib import Path

import pytest
from django.urls import reverse

from evaluation import run_actions
from evaluation.models import EvaluationRun, Rater, RunStatus

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture
def page(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM is still safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_run_seen_failing_while_polled_offers_resume(
    page, live_server, staff, make_study, monkeypatch
):
    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(run_actions, "_send", sent.extend)  # the live server shares this process
    study = make_study(neurons=2, k=1)
    run = run_actions.do_create_run(study, Rater.objects.create(name="es", kind="openclip_es"))
    study_url = reverse("study-detail", args=[study.pk])
    page.goto(f"{live_server.url}/accounts/login/?next={study_url}")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{study_url}")
    row = page.locator("tr.run")  # its only buttons are Cancel or Resume
    row.locator("button", has_text="Cancel").wait_for()
    assert row.locator("button").all_inner_texts() == ["Cancel"]

    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, error="RuntimeError: out of memory"
    )
    page.locator("tr.run .run-status", has_text="failed: RuntimeError: out of memory").wait_for()
    row.locator("button", has_text="Resume").wait_for(timeout=10_000)
    assert row.locator("button").all_inner_texts() == ["Resume"]

    row.locator("button", has_text="Resume").click()  # the polled form posts like the real one
    page.locator(".messages", has_text=f"Run {run.pk} resumed.").wait_for()
    assert EvaluationRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert sent == [("tasks.evaluation.start_run", run.pk)]


@pytest.mark.django_db
def test_the_run_page_says_a_run_failed_and_why_and_shows_notes_as_words(client, staff, make_study):
    run = run_actions.do_create_run(
        make_study(neurons=1, k=1), Rater.objects.create(name="es", kind="openclip_es")
    )
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED,
        error="RuntimeError: out of memory",
        notes={
            "encoder": {"model_key": "ViT-B-32", "preprocess": {"size": [224, 224]}},
            "labels_added_to_concept_set": ["dog", "cat"],
        },
    )
    client.force_login(staff)
    page = client.get(reverse("run-detail", args=[run.pk])).text
    assert "<strong>The run failed</strong>: RuntimeError: out of memory" in page
    assert "Not finished yet." not in page
    assert "the run failed before it finished" in page
    notes = page[page.index('<dl class="notes">') : page.index("</dl>")]
    assert "<dd>model key: ViT-B-32</dd>" in notes
    assert "<dd>preprocess: size: 224, 224</dd>" in notes
    assert "<dd>dog, cat</dd>" in notes
    assert "{" not in notes and "[" not in notes and "&quot;" not in notes
