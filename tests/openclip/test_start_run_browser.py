"""In Debian's Chromium: the start-run form offers this machine's model and follows the kind."""

from pathlib import Path

import pytest

from evaluation.models import EvaluationRun, Rater
from evaluation.raters.clip_spec import DEMO_MODEL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def test_model_field_follows_the_kind_and_reaches_a_vqa_rater(
    page, live_server, staff, make_study, monkeypatch, tmp_path
):
    monkeypatch.setenv("NEURONJUDGE_MODEL_DIR", str(tmp_path / "models"))
    published: list[int] = []
    monkeypatch.setattr(
        "evaluation.run_actions._send", lambda messages: published.extend(m[1] for m in messages)
    )
    study = make_study(neurons=1, k=2)
    study_url = f"/studies/{study.pk}/"
    page.goto(f"{live_server.url}/accounts/login/?next={study_url}")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{study_url}")
    page.click("details.start-run summary")
    model = page.locator("#run-model")
    assert model.input_value() == DEMO_MODEL
    assert model.get_attribute("list") == "run-models-openclip_es"

    page.select_option("#run-kind", "vqa_blip2")
    assert model.input_value() == "Salesforce/blip2-opt-2.7b"
    assert model.get_attribute("list") == "run-models-vqa_blip2"
    page.select_option("#run-kind", "vqa_openai")
    assert model.input_value() == ""
    model.fill("llava-1.6")
    page.select_option("#run-kind", "vqa_blip2")  # a model typed by hand stays
    assert model.input_value() == "llava-1.6"
    page.select_option("#run-kind", "vqa_openai")
    page.fill("#run-params", '{"base_url": "http://127.0.0.1:8000/v1"}')
    page.click("form.importform button[type=submit]")
    page.locator(".messages li").filter(has_text="queued").wait_for()

    rater = Rater.objects.get()
    assert rater.kind == "vqa_openai" and rater.params["model"] == "llava-1.6"
    assert published == [EvaluationRun.objects.get().pk]
