"""The Ratings and Best-of sections of the report page in Debian's Chromium."""

import os
from pathlib import Path

import pytest
from django.core.management import call_command
from sklearn.metrics import cohen_kappa_score

from annotate.models import Study
from tests.helpers import give_to_staff
from tests.ratings.conftest import ANN1, ANN2
from tests.ratings.dnd_files import METHODS, dnd_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def _allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def ratings_page(live_server, mixed_study, staff):
    yield from open_report(live_server, mixed_study)


@pytest.fixture
def dnd_page(live_server, tmp_path, staff):
    path = tmp_path / "human_evals.csv"
    path.write_bytes(dnd_file(units={"layer3": 6, "layer4": 9}, seed=3).data)
    study = give_to_staff(Study.objects.create(
        name="DnD", target_network="resnet50", probe_dataset="broden",
        question_type=Study.QuestionType.LABEL_RATING,
    ))  # fmt: skip
    call_command("import_judgments", str(path), "--study", "DnD", "--format", "dnd-human-evals")
    yield from open_report(live_server, study)


def open_report(live_server, study):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(60_000)
        url = f"/reports/studies/{study.pk}/"
        page.goto(f"{live_server.url}/accounts/login/?next={url}")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "staff-pass")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**{url}")
        page.locator("#ratings-heatmap svg").wait_for()
        yield page
        browser.close()


def _texts(locator) -> list[str]:
    return locator.evaluate_all("els => els.map(e => e.firstChild.textContent)")


def test_ratings_section_shows_agreement_means_and_one_heatmap_of_both_kinds(
    ratings_page, mixed_study
):
    page = ratings_page
    ann1 = f"human:imported-{mixed_study.pk}-ann1"
    overall = page.locator("#ordinal-agreement tr.overall:not(.all-raters)")
    kappa = cohen_kappa_score(ANN1, ANN2, weights="quadratic")
    assert f"{kappa:.3f}" in overall.inner_text()
    assert page.locator("#mean-ratings tr").count() == 1 + 2  # header, two label sets
    assert "n=6" in page.locator("#mean-ratings tr").nth(1).inner_text()  # 3 units x 2 raters
    heatmap = page.locator("#ratings-heatmap svg")
    names = _texts(heatmap.locator("text:not([text-anchor=middle])"))
    assert names.count("alice") == 2 and names.count(ann1) == 2  # a row and a column each
    titles = _texts(heatmap.locator("g title"))
    assert any(t.startswith(f"alice vs {ann1}: kappa") and "n = 12" in t for t in titles)
    page.locator("#ratings-heatmap-controls select").select_option("layer1")
    titles = _texts(page.locator("#ratings-heatmap svg g title"))
    assert any(t.startswith(f"alice vs {ann1}: kappa") and "n = 6" in t for t in titles)
    page.locator("#ratings-heatmap-controls input[value=percent]").check()
    assert any(": percent" in t for t in _texts(page.locator("#ratings-heatmap svg g title")))
    rows = page.locator("#win-rates tr").all_inner_texts()
    assert rows[-1].startswith("none fits") and "0.167" in rows[-1]
    assert page.locator("#heatmap svg").count() == 1  # the yes/no heatmap is still there
    if os.environ.get("NJ_RATINGS_SCREENSHOT"):
        page.locator("#ratings").screenshot(path=os.environ["NJ_RATINGS_SCREENSHOT"])
        page.locator("#best-of").screenshot(path=os.environ["NJ_RATINGS_SCREENSHOT"] + ".best.png")


def test_the_rating_threshold_option_reloads_the_binarised_view(ratings_page):
    page = ratings_page
    field = page.locator("input[name=rating_threshold]")
    assert field.input_value() == "4"
    field.fill("5")
    page.locator(".report-options button").click()
    page.wait_for_url("**rating_threshold=5**")
    page.locator("#ratings-heatmap svg").wait_for()
    assert "Ratings ≥ 5 as yes" in page.locator("#ratings h3").all_inner_texts()[-1]


def test_a_study_of_ratings_only_shows_its_ratings_and_no_empty_yes_no_sections(dnd_page):
    page = dnd_page
    assert "No judgments yet" not in page.content()
    assert page.locator("#heatmap").count() == 0  # no yes/no raters: no pairwise heatmap
    label_sets = page.locator("#mean-ratings td:first-child").all_inner_texts()
    assert label_sets == list(METHODS)  # in the order of the file's columns
    assert page.locator("#mean-ratings th").all_inner_texts() == [
        "Label set", "layer3", "layer4", "Overall",
    ]  # fmt: skip
    assert len(_texts(page.locator("#ratings-heatmap svg g title"))) == 2  # E1 vs E2, E2 vs E1
    assert "layers: layer3, layer4" in page.locator("p.meta").first.inner_text()
    if os.environ.get("NJ_RATINGS_SCREENSHOT"):
        page.screenshot(path=os.environ["NJ_RATINGS_SCREENSHOT"] + ".dnd.png", full_page=True)
