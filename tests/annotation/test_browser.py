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
from tests.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_a_newcomer_signs_up_from_an_invite_and_lands_on_the_annotation_page(
    page, live_server, shapes_study
):
    token = shapes_study.invites.get().token
    page.goto(f"{live_server.url}/annotate/join/{token}/")
    assert "You are invited to annotate" in page.locator("h1").inner_text()
    page.fill("#id_username", "dana")
    page.fill("#id_password1", "x7-Quill-92")
    page.fill("#id_password2", "x7-Quill-92")
    page.click("#signup button[type=submit]")
    page.wait_for_url(f"**/annotate/studies/{shapes_study.pk}/")
    page.locator("#label", has_text="striped").wait_for()
    assert page.locator(".user").inner_text().startswith("dana")


def test_an_annotator_on_a_staff_page_is_shown_the_way_to_annotate(page, live_server, shapes_study):
    log_in(page, live_server, "alice", "/")
    page.goto(f"{live_server.url}/studies/{shapes_study.pk}/")
    assert "for the study's staff" in page.locator("h1").inner_text()
    assert page.locator(".topbar").is_visible()  # the site's own page, not a bare 403
    page.click("#annotate-instead")
    page.locator("#label", has_text="striped").wait_for()


def test_progress_reads_x_of_n_and_a_recent_answer_can_be_changed(
    page, live_server, shapes_study, annotators
):
    AnnotationSettings.objects.filter(study=shapes_study).update(quota=0)
    Neuron.objects.create(study=shapes_study, layer="layer3", unit=9, label="no images yet")
    annotate_url = f"/annotate/studies/{shapes_study.pk}/"
    log_in(page, live_server, "alice", annotate_url)
    page.locator("#label", has_text="striped").wait_for()
    assert "1 neuron of this study is waiting for images" in page.locator("#waiting").inner_text()
    assert "a first press means yes" in page.locator(".keys").inner_text()
    page.wait_for_function(
        "[...document.querySelectorAll('#images img')].every(i => i.complete && i.naturalWidth)"
    )
    for image in page.locator("#images .image").all():
        pic, key = image.locator("img").bounding_box(), image.locator(".key").bounding_box()
        assert key["y"] >= pic["y"] + pic["height"]  # the number sits below the picture
    page.locator("#progress-text", has_text="0 of 3 units done").wait_for()
    page.keyboard.press("y")
    page.keyboard.press("Enter")
    page.locator("#label", has_text="circle").wait_for()
    page.locator("#progress-text", has_text="1 of 3 units done").wait_for()
    page.keyboard.press("r")
    entry = page.locator("#review-list > li", has_text="striped")
    entry.locator(".thumb", has_text="yes").first.wait_for()
    assert entry.locator(".thumb").count() == 4
    entry.locator("button.change").click()
    page.locator("#label", has_text="striped").wait_for()
    assert page.locator(".image[data-verdict='yes']").count() == 4
    page.keyboard.press("1")  # image 1 becomes a no
    page.keyboard.press("Enter")
    for label in ("circle", "yellow"):
        page.locator("#label", has_text=label).wait_for()
        page.keyboard.press("n")
        page.keyboard.press("Enter")
    page.locator("#finished").wait_for()
    page.locator("#status", has_text="All answers saved").wait_for()
    page.locator("#progress-text", has_text="3 of 3 units done").wait_for()
    assert page.locator("#finished a", has_text="Back to your studies").is_visible()
    verdicts = dict(
        Judgment.objects.filter(
            rater__user=annotators["alice"], neuron_image__neuron__label="striped"
        ).values_list("neuron_image__rank", "verdict")
    )
    assert verdicts == {1: "no", 2: "yes", 3: "yes", 4: "yes"}


def test_a_crowd_worker_with_no_work_left_gets_no_code(page, live_server, shapes_study, staff):
    from annotate.models import Invite, Unit

    AnnotationSettings.objects.filter(study=shapes_study).update(completion_code="PROLIF1")
    Unit.objects.filter(study=shapes_study).update(claimed=2, done=2)  # every unit has its R
    invite = do_create_invite(shapes_study, staff, Invite.Kind.CROWD)
    page.goto(f"{live_server.url}/annotate/crowd/{invite.token}/?PROLIFIC_PID=late1&SESSION_ID=s1")
    assert page.locator("h1").inner_text() == "Start the study"
    page.click("#start")
    page.locator("#finished h1", has_text="No work left").wait_for()
    assert not page.locator("#completion").is_visible()
    assert "PROLIF1" not in page.content()
