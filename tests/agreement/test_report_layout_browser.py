"""The heatmap and the disagreement browser in Debian's Chromium, at the widths people use:
nothing clipped or overlapping, raters told apart, counts that agree."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from annotate.models import NeuronImage
from evaluation.models import Rater
from tests.helpers import judge

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = (1280, 1920)
# Rater names as `rater_configs` makes them: long, and alike up to the threshold.
ES_NAME = (
    "OpenCLIP embedding similarity · ViT-B-32 · laion2b_s34b_b79k · threshold {t} · fp32 · {d}"
)
PROLIFIC = "prolific-1-5f3c0ffee4b1a2c3d4e5f607"
CP_NAME = "OpenCLIP concept proportion · neuronjudge-demo-clip · proportion 0.01 · fp32 · 1a2b3c4d"


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def crowded_study(rated_study, django_user_model):
    """The rated study plus two embedding-similarity raters that differ only in threshold
    and a concept-proportion rater, all named as the rater registry names them."""
    pairs = list(
        NeuronImage.objects.filter(neuron__study=rated_study).order_by("neuron_id", "rank")
    )
    for t, digest in ((0.25, "5f3c0ffe"), (0.3, "9e21ab07")):
        params = {"model": "ViT-B-32", "pretrained": "laion2b_s34b_b79k", "threshold": t}
        es = Rater.objects.create(
            name=ES_NAME.format(t=t, d=digest), kind="openclip_es", params=params
        )
        scores = [0.2 + ((i * 7) % 11) / 60 for i in range(len(pairs))]
        judge(es, pairs, ["yes" if s >= t else "no" for s in scores], scores)
    cp = Rater.objects.create(
        name=CP_NAME,
        kind="openclip_cp",
        params={"model": "neuronjudge-demo-clip", "proportion": 0.01},
    )
    judge(cp, pairs, ["yes" if i % 3 else "no" for i in range(len(pairs))], [0.5] * len(pairs))
    # A Prolific worker's account: a name with no place to break a line.
    worker = django_user_model.objects.create_user(PROLIFIC)
    human = Rater.objects.create(name=f"human:{PROLIFIC}", kind="human", user=worker)
    judge(human, pairs, ["no" if i % 2 else "yes" for i in range(len(pairs))])
    vqa = Rater.objects.create(name="VQA: BLIP-2 · blip2-opt-2.7b", kind="vqa_blip2",
                               params={"model": "Salesforce/blip2-opt-2.7b"})  # fmt: skip
    judge(vqa, pairs, ["unparseable" if i % 2 else "yes" for i in range(len(pairs))],
          [0.5] * len(pairs), extra={"answer": "a photograph of something"})  # fmt: skip
    return rated_study


@pytest.fixture
def browser(live_server, staff):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": WIDTHS[0], "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{live_server.url}/accounts/login/?next=/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "staff-pass")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{live_server.url}/")
        page.base = live_server.url
        yield page
        chromium.close()


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("NJ_SCREENSHOT_DIR")  # e.g. docs/
    if folder:
        page.mouse.wheel(0, 100_000)  # images load lazily: scroll them all into view first
        page.wait_for_function("[...document.images].every(i => i.complete)")
        page.screenshot(path=str(Path(folder) / name), full_page=True)


# For each image column and the one to its right on the same row: the rightmost edge of
# anything painted in the column (cells that clip their text count only to their own edge).
OVERLAPS = """
figures => {
  const found = [];
  for (let i = 0; i + 1 < figures.length; i++) {
    const a = figures[i].getBoundingClientRect(), b = figures[i + 1].getBoundingClientRect();
    if (Math.abs(a.top - b.top) > 2 || b.left < a.left) continue;  // not side by side
    for (const node of figures[i].querySelectorAll("*")) {
      const box = node.getBoundingClientRect();
      const style = getComputedStyle(node);
      const spills = node.scrollWidth > node.clientWidth + 1 && style.overflowX === "visible";
      if (box.right > b.left || (node.tagName === "TD" && spills)) {
        const what = `${node.tagName} "${node.textContent.slice(0, 30)}"`;
        found.push(`${what} ends at ${box.right}, the next column starts at ${b.left}`);
      }
    }
  }
  return found;
}
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_disagreement_columns_do_not_overlap_the_next_image(browser, crowded_study, width):
    browser.set_viewport_size({"width": width, "height": 900})
    browser.goto(f"{browser.base}/reports/studies/{crowded_study.pk}/disagreements/")
    articles = browser.locator("article.disputed")
    assert articles.count() >= 1
    side_by_side = 0
    for article in articles.all():
        figures = article.locator("figure")
        assert figures.evaluate_all(OVERLAPS) == []
        side_by_side += figures.count() - 1
    assert side_by_side > 0  # the check compared some columns
    names = browser.locator("table.verdicts td[title]")
    full = dict(names.evaluate_all("els => els.map(e => [e.textContent, e.title])"))
    assert full["human: prolific-1-5f…d4e5f607"] == f"human:{PROLIFIC}"  # full name on hover
    assert full["ES 0.3 ViT-B-32"] == ES_NAME.format(t=0.3, d="9e21ab07")
    if width == WIDTHS[0]:
        _screenshot(browser, "disagreement-browser.png")


def test_the_report_and_the_browser_count_the_same_disputed_neurons(browser, crowded_study):
    browser.goto(f"{browser.base}/reports/studies/{crowded_study.pk}/")
    link = browser.locator("a[href*=disagreements]")
    promised = int(re.search(r"the (\d+) most disputed", link.inner_text()).group(1))
    link.click()
    browser.wait_for_url("**/disagreements/**")
    shown = browser.locator("article.disputed").count()
    heading = browser.locator("h1 + p").inner_text()
    assert shown == promised
    assert re.search(r"The (\d+)", heading).group(1) == str(shown)


def _heatmap_labels(page) -> list[dict]:
    return page.locator("#heatmap svg > text").evaluate_all(  # cells' numbers are in a <g>
        """els => els.map(e => ({text: e.firstChild.textContent,
                                 title: e.querySelector('title')?.textContent,
                                 box: e.getBoundingClientRect().toJSON()}))"""
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_heatmap_names_fit_tell_raters_apart_and_come_with_a_legend(browser, crowded_study, width):
    browser.set_viewport_size({"width": width, "height": 900})
    browser.goto(f"{browser.base}/reports/studies/{crowded_study.pk}/")
    svg = browser.locator("#heatmap svg")
    svg.wait_for()
    frame = svg.evaluate("e => e.getBoundingClientRect().toJSON()")
    labels = _heatmap_labels(browser)
    raters = len(labels) // 2  # a row name and a column name each
    assert raters == 11  # 9 raters and the two consensus raters
    for label in labels:  # nothing clipped at any edge
        box = label["box"]
        assert box["left"] >= frame["left"] - 0.5 and box["top"] >= frame["top"] - 0.5, label
        assert box["right"] <= frame["right"] + 0.5, label
    rows = [label["text"] for label in labels[::2]]
    assert len(set(rows)) == len(rows)  # every rater told apart
    assert {"ES 0.25 ViT-B-32", "ES 0.3 ViT-B-32", "CP 1% demo-clip", "human: alice"} <= set(rows)
    assert "VQA blip2-opt-2.7b" in rows
    titles = {label["text"]: label["title"] for label in labels}
    assert titles["ES 0.3 ViT-B-32"] == ES_NAME.format(t=0.3, d="9e21ab07")  # full name on hover
    first_cell = browser.locator("#heatmap svg g.cell rect").first.evaluate(
        "e => e.getBoundingClientRect().left"
    )
    assert max(label["box"]["right"] for label in labels[::2]) <= first_cell  # rows clear cells
    legend = browser.locator("#heatmap svg g.legend")
    ticks = legend.locator("text.tick").evaluate_all("els => els.map(e => e.textContent)")
    assert ticks == ["-1", "-0.5", "0", "0.5", "1"]
    assert "kappa" in legend.text_content()
    browser.locator("#heatmap-controls input[value=iou]").check()
    assert "colour: iou" in browser.locator("#heatmap svg g.legend").text_content()
    if width == WIDTHS[0]:
        browser.locator("#heatmap-controls input[value=kappa]").check()
        _screenshot(browser, "report-page.png")
