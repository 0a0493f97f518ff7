"""The report page in Debian's Chromium: what its tables and plots show a reader."""

import os
import re
from pathlib import Path

import pytest

from annotate.models import AnnotationSettings, NeuronImage
from evaluation.models import Rater
from tests.helpers import judge, slip_a_distractor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def report_page(live_server, rated_study, staff):
    """The report of the rated study, with bob under the study's gold bar and a concept
    proportion rater whose low scores mean yes, open for staff."""
    from playwright.sync_api import sync_playwright

    AnnotationSettings.objects.create(study=rated_study, min_gold_accuracy=0.7)
    slip_a_distractor(rated_study, right="alice", wrong="bob")
    pairs = list(NeuronImage.objects.filter(neuron__study=rated_study, is_distractor=False))
    cp = Rater.objects.create(name="OpenCLIP CP", kind="openclip_cp", params={"p": 1})
    scores = [0.003 + i / 40 if p.rank != 2 else 0.6 + i / 50 for i, p in enumerate(pairs)]
    judge(cp, pairs, ["yes" if s < 0.5 else "no" for s in scores], scores)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        url = f"/reports/studies/{rated_study.pk}/"
        page.goto(f"{live_server.url}/accounts/login/?next={url}")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "staff-pass")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**{url}")
        page.locator("#calibration figure").first.wait_for()
        yield page
        browser.close()


def _texts(locator) -> list[str]:
    """The text of SVG <text> elements, without their <title> (inner_text skips SVG)."""
    return locator.evaluate_all("els => els.map(e => e.firstChild.textContent)")


def _section(page, heading: str):
    return page.locator("section", has=page.locator("h2", has_text=heading))


def test_share_of_labels_judged_correct_shows_n_beside_every_figure(report_page):
    table = _section(report_page, "Share of labels judged correct").locator("table")
    cells = table.locator("td:not(:first-child)")
    assert cells.count() >= 5 * 3  # five raters and the consensus x (two layers + Overall)
    for text in cells.all_inner_texts():
        assert re.search(r"\bn=\d+", text), text
    alice = table.locator("tr", has_text="alice").locator("td").all_inner_texts()
    assert [re.search(r"n=(\d+)", t).group(1) for t in alice[1:]] == ["3", "3", "6"]


def test_an_annotator_left_out_is_marked_in_the_raters_table_and_the_heatmap(report_page):
    raters = _section(report_page, "Raters").locator("table")
    bob = raters.locator("tr", has_text="bob")
    assert "left out of the consensus" in bob.inner_text()
    assert "left out of the consensus" not in raters.locator("tr", has_text="alice").inner_text()
    heatmap = report_page.locator("#heatmap svg")
    assert _texts(heatmap.locator("text.left-out")) == ["† human: bob", "† human: bob"]
    assert "† human: alice" not in heatmap.text_content()
    note = report_page.locator("#heatmap-left-out").inner_text()
    assert "bob (gold accuracy 0.000 on 1 known pair is under the bar of 0.7)" in note
    assert "still compared with every rater" in note


def test_calibration_plots_say_their_direction_show_kappa_and_use_round_ticks(report_page):
    figures = report_page.locator("#calibration figure")
    captions = {f.locator("figcaption").inner_text(): f for f in figures.all()}
    cp = next(f for c, f in captions.items() if c.startswith("OpenCLIP CP"))
    es = next(f for c, f in captions.items() if c.startswith("OpenCLIP ES"))
    assert "yes at score ≤ threshold (lower means yes)" in cp.locator("figcaption").inner_text()
    assert "yes at score ≥ threshold" in es.locator("figcaption").inner_text()
    for figure in (cp, es):
        legend = _texts(figure.locator("text.legend"))
        assert "kappa, all layers" in legend  # the curve the dashed line's maximum is on
        assert "best kappa" in figure.locator("figcaption").inner_text()
        ticks = _texts(figure.locator("text.x-tick"))
        assert len(ticks) >= 3
        for tick in ticks:  # round numbers: one or two significant digits
            assert re.fullmatch(r"-?\d+(\.\d{1,2})?", tick), ticks
            assert len(tick.strip("-0.")) <= 2, ticks
    cp_ticks = [float(t) for t in _texts(cp.locator("text.x-tick"))]
    steps = {round(b - a, 6) for a, b in zip(cp_ticks, cp_ticks[1:], strict=False)}
    assert len(steps) == 1  # evenly spaced
    if os.environ.get("NJ_REPORT_SCREENSHOT"):  # e.g. for docs/
        report_page.screenshot(path=os.environ["NJ_REPORT_SCREENSHOT"], full_page=True)
