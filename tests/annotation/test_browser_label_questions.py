"""End to end in Debian's Chromium: a label-rating study and a best-of study, each annotated
with the keyboard only (the yes/no study's test is in test_browser.py)."""

import os
from pathlib import Path

import pytest

from annotate.annotation.members import human_rater
from annotate.demo_images import render
from annotate.models import Submission
from evaluation.models import LabelJudgment
from tests.helpers import build_label_study, configure, join, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each unit's four images share one concept: (shape, colour, texture).
IMAGES = [
    [("circle", "red", "striped"), ("square", "blue", "striped"),
     ("star", "green", "striped"), ("triangle", "yellow", "striped")],
    [("circle", "purple", "plain"), ("circle", "orange", "dotted"),
     ("circle", "blue", "checkered"), ("circle", "green", "plain")],
    [("square", "red", "plain"), ("star", "yellow", "dotted"),
     ("triangle", "yellow", "plain"), ("circle", "yellow", "checkered")],
]  # fmt: skip
LABELS = {
    "CLIP-Dissect": ["striped", "circle", "yellow"],
    "MILAN": ["stripes on shapes", "round shapes", "red things"],
    "NetDissect": ["lines", "disc", "gold color"],
}


def shapes(unit: int, rank: int) -> bytes:
    return render(*IMAGES[unit][rank - 1], size=160).png


def make_study(question: str, staff, alice):
    study = build_label_study(question, LABELS, k=4, image=shapes, name="Shapes")
    join(study, staff, [alice])
    return study


def images_loaded(page) -> None:
    page.wait_for_function(
        "[...document.querySelectorAll('#images img')].every(i => i.complete && i.naturalWidth)"
    )


def screenshot(page, name: str, tmp_path) -> None:
    folder = Path(os.environ.get("NJ_ANNOTATION_SCREENSHOTS", tmp_path))
    path = folder / name
    page.screenshot(path=path)
    assert path.stat().st_size > 20_000


def test_an_annotator_rates_labels_with_the_keyboard(
    page, live_server, staff, annotators, tmp_path
):
    alice = annotators["alice"]
    study = make_study("label_rating", staff, alice)
    configure(study, quota=4)
    url = f"/annotate/studies/{study.pk}/"
    log_in(page, live_server, "alice", url)
    label = page.locator("#label")
    label.filter(has_text="striped").wait_for()
    images_loaded(page)
    assert page.locator("#images img").count() == 4
    assert "sent at once" in page.locator(".keys").inner_text()
    page.locator("#progress-text", has_text="0 of 4 units").wait_for()
    screenshot(page, "annotation-label-rating.png", tmp_path)
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")

    page.keyboard.press("5")  # one key per label: rated and sent
    label.filter(has_text="stripes on shapes").wait_for()
    page.keyboard.press("4")
    label.filter(has_text="lines").wait_for()
    page.keyboard.press("u")  # uninterpretable
    label.filter(has_text="circle").wait_for()
    page.keyboard.press("z")  # undo: "lines" again, its answer shown
    label.filter(has_text="lines").wait_for()
    assert page.locator(".choice.chosen").inner_text().endswith("uninterpretable")
    page.keyboard.press("2")
    label.filter(has_text="circle").wait_for()
    page.keyboard.press("5")
    page.locator("#finished").wait_for()
    page.locator("#status", has_text="All answers saved").wait_for()
    page.locator("#progress-text", has_text="4 of 4 units").wait_for()

    page.keyboard.press("r")
    page.locator("#review-list > li", has_text="rated 2 of 5").wait_for()
    assert page.locator("#review-list > li").count() == 4
    ratings = dict(
        LabelJudgment.objects.filter(rater=human_rater(alice)).values_list(
            "neuron__label", "rating"
        )
    )
    assert ratings == {"striped": 5, "stripes on shapes": 4, "lines": 2, "circle": 5}
    assert set(LabelJudgment.objects.values_list("question", flat=True)) == {"label_rating"}
    assert Submission.objects.filter(annotator=alice).count() == 4


def choose(page, text: str) -> None:
    """Press the number key of the label reading `text`."""
    buttons = page.locator("#choices .choice:not(.aside)")
    labels = [b.inner_text().split("\n")[-1].strip() for b in buttons.all()]
    page.keyboard.press(str(labels.index(text) + 1))


def test_an_annotator_picks_the_best_label_with_the_keyboard(
    page, live_server, staff, annotators, tmp_path
):
    alice = annotators["alice"]
    study = make_study("best_of", staff, alice)
    url = f"/annotate/studies/{study.pk}/"
    log_in(page, live_server, "alice", url)
    choices = page.locator("#choices")
    choices.filter(has_text="stripes on shapes").wait_for()
    images_loaded(page)
    assert page.locator("#choices .choice").count() == 4  # three labels and "none fits"
    content = page.content()
    assert "CLIP-Dissect" not in content and "MILAN" not in content
    page.locator("#progress-text", has_text="0 of 3 units").wait_for()
    screenshot(page, "annotation-best-of.png", tmp_path)

    choose(page, "striped")
    choices.filter(has_text="round shapes").wait_for()
    page.keyboard.press("0")  # none fits
    choices.filter(has_text="gold color").wait_for()
    page.keyboard.press("u")  # undo: the round unit again, "none fits" marked
    choices.filter(has_text="round shapes").wait_for()
    assert page.locator(".choice.chosen").inner_text().endswith("none fits")
    choose(page, "round shapes")
    choices.filter(has_text="gold color").wait_for()
    page.keyboard.press("0")
    page.locator("#finished").wait_for()
    page.locator("#status", has_text="All answers saved").wait_for()

    stored = {
        j.neuron.label: (j.chosen.label if j.chosen else None, j.none_fits)
        for j in LabelJudgment.objects.filter(rater=human_rater(alice)).select_related(
            "neuron", "chosen"
        )
    }
    assert stored == {
        "striped": ("striped", False),
        "circle": ("round shapes", False),
        "yellow": (None, True),
    }
    assert Submission.objects.filter(annotator=alice).count() == 3
