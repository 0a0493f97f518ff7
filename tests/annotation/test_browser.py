"""End to end in Debian's Chromium: log in, rate three units with the keyboard only."""

import json
import os
from pathlib import Path

import pytest

from annotate.annotation.members import do_create_invite, do_join_study
from annotate.demo_images import render
from annotate.images import do_store_image
from annotate.models import AnnotationSettings, Neuron, NeuronImage, Study, Submission
from evaluation.models import Judgment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; Django's ORM calls are still
    safe. Set for this test only: left set, it would leak into `check --deploy` elsewhere."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# (label, concept every image shows: (shape, colour, texture) choices)
UNITS = [
    (
        "striped",
        [
            ("circle", "red", "striped"),
            ("square", "blue", "striped"),
            ("star", "green", "striped"),
            ("triangle", "yellow", "striped"),
        ],
    ),
    (
        "circle",
        [
            ("circle", "purple", "plain"),
            ("circle", "orange", "dotted"),
            ("circle", "blue", "checkered"),
            ("circle", "green", "plain"),
        ],
    ),
    (
        "yellow",
        [
            ("square", "red", "plain"),
            ("star", "yellow", "dotted"),
            ("triangle", "yellow", "plain"),
            ("circle", "yellow", "checkered"),
        ],
    ),
]


@pytest.fixture
def shapes_study(staff, annotators):
    study = Study.objects.create(
        name="Shapes", target_network="demo", probe_dataset="synthetic", k=4, overlap=2
    )
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0, quota=3)
    for unit, (label, images) in enumerate(UNITS):
        neuron = Neuron.objects.create(study=study, layer="layer3", unit=unit, label=label)
        for rank, (shape, color, texture) in enumerate(images, start=1):
            png = render(shape, color, texture, size=160).png
            NeuronImage.objects.create(neuron=neuron, image=do_store_image(png), rank=rank)
    do_join_study(annotators["alice"], do_create_invite(study, staff))
    return study


@pytest.fixture
def page(live_server):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.set_default_timeout(60_000)  # a busy CI machine can be slow; failures stay failures
        yield page
        browser.close()


def test_an_annotator_rates_three_units_with_the_keyboard(
    page, live_server, shapes_study, annotators, tmp_path
):
    annotate_url = f"/annotate/studies/{shapes_study.pk}/"
    page.goto(f"{live_server.url}/accounts/login/?next={annotate_url}")
    page.fill("#id_username", "alice")  # fill waits for the field; typing could outrun it
    page.fill("#id_password", "alice-pass")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{annotate_url}")
    label = page.locator("#label")

    label.filter(has_text="striped").wait_for()
    page.wait_for_function(
        "[...document.querySelectorAll('#images img')].every(i => i.complete && i.naturalWidth)"
    )
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    held = []  # hold the next-unit fetch that follows this submit, as a slow server would
    page.route("**/next/", lambda route: held.append(route))
    page.keyboard.press("y")
    page.keyboard.press("Enter")

    label.filter(has_text="circle").wait_for()  # preloaded: shown before the server answers
    while not held:
        page.wait_for_timeout(50)
    dropped = []  # the first attempt to send this unit fails as a dropped connection would

    def drop_once(route):
        if not dropped:
            dropped.append(route.request.post_data)
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/submit/", drop_once)
    page.keyboard.press("y")
    page.keyboard.press("Enter")  # submitted while the previous flush still waits on next/
    page.unroute("**/next/")
    for route in held:
        route.continue_()
    page.locator("#status", has_text="kept in this browser").wait_for()

    label.filter(has_text="yellow").wait_for()
    page.locator("#progress-text", has_text="2 of 3 units · 1 left").wait_for()
    page.keyboard.press("y")
    page.keyboard.press("1")
    screenshot = Path(os.environ.get("NJ_ANNOTATION_SCREENSHOT", tmp_path / "annotation-page.png"))
    page.screenshot(path=screenshot)
    assert screenshot.stat().st_size > 20_000
    page.keyboard.press("n")
    page.keyboard.press("Enter")
    page.locator("#finished").wait_for()
    page.keyboard.press("u")  # undo the last one and answer it image by image
    label.filter(has_text="yellow").wait_for()
    assert page.locator(".image[data-verdict='no']").count() == 4
    for key in ("2", "3", "4"):
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.locator("#finished").wait_for()
    page.locator("#status", has_text="All answers saved").wait_for()

    verdicts = {
        (j.neuron_image.neuron.label, j.neuron_image.rank): j.verdict
        for j in Judgment.objects.filter(rater__user=annotators["alice"]).select_related(
            "neuron_image__neuron"
        )
    }
    expected = {("striped", r): "yes" for r in range(1, 5)}
    expected |= {("circle", r): "yes" for r in range(1, 5)}
    expected |= {("yellow", 1): "no"} | {("yellow", r): "yes" for r in (2, 3, 4)}
    assert verdicts == expected
    assert Submission.objects.filter(annotator=annotators["alice"]).count() == 3
    retried = json.loads(dropped[0])["client_id"]  # the dropped send went out again, same id
    assert str(Submission.objects.get(neuron__label="circle").client_id) == retried
    assert all(s.ms_spent > 0 for s in Submission.objects.all())
