"""The API docs pages: a visitor who is not signed in is sent to the login page, the
navigation links to them, and in Chromium they load nothing from outside this server. The
cross-study table scrolls inside the page instead of running off its right edge."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from evaluation.models import Judgment, NeuronImage, Rater

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"localhost", "127.0.0.1"}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["api-docs", "api-redoc"])
def test_docs_send_a_visitor_to_the_login_page(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.django_db
def test_the_schema_still_answers_scripts_with_a_status(api):
    assert api.get("/api/schema/").status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["api-docs", "api-redoc"])
def test_docs_pages_may_load_nothing_from_elsewhere(client, staff, name):
    client.force_login(staff)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "fonts.googleapis.com" not in response.content.decode()
    assert response["Content-Security-Policy"].startswith("default-src 'self';")


@pytest.fixture
def _orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server, _orm_beside_playwright):
    """Chromium at 1280 px, with every URL it requests recorded in `page.requested`, and
    those its Content-Security-Policy stopped before they were sent in `page.csp_blocked`."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        page.requested, page.csp_blocked = [], []
        page.on("request", lambda request: page.requested.append(request.url))
        page.on(
            "requestfailed",
            lambda r: r.failure == "csp" and page.csp_blocked.append(r.url),
        )
        yield page
        browser.close()


def sign_in(page, live_server, next_url: str) -> None:
    page.goto(f"{live_server.url}{next_url}")
    page.wait_for_url(f"**/accounts/login/?next={next_url}")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-pass")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{next_url}")


def outside_requests(page) -> list[str]:
    """Requests that left the browser for another host than this server."""
    return [
        url
        for url in page.requested
        if urlparse(url).scheme in ("http", "https")
        and urlparse(url).hostname not in LOCAL_HOSTS
        and url not in page.csp_blocked
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_signs_in_first_and_loads_only_local_assets(page, live_server, staff):
    sign_in(page, live_server, "/api/docs/")
    page.locator(".swagger-ui .info .title", has_text="NeuronJudge API").wait_for()
    page.locator(".opblock-tag", has_text="studies").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert outside_requests(page) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_redoc_loads_only_local_assets(page, live_server, staff):
    sign_in(page, live_server, "/api/redoc/")
    page.locator("h1", has_text="NeuronJudge API").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert outside_requests(page) == []
    assert any("/static/drf_spectacular_sidecar/redoc" in url for url in page.requested)
    # Redoc's bundle always asks for its maker's logo; the page's policy stops it unsent.
    assert page.csp_blocked == ["https://cdn.redoc.ly/redoc/logo-mini.svg"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_navigation_links_to_the_api_docs(page, live_server, staff):
    sign_in(page, live_server, "/")
    page.locator("header nav a", has_text="API docs").click()
    page.wait_for_url("**/api/docs/")
    page.locator(".swagger-ui .info .title", has_text="NeuronJudge API").wait_for()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_wide_cross_study_table_scrolls_inside_the_page(page, live_server, staff, make_study):
    study = make_study("wide", neurons=3, k=2)
    pairs = list(NeuronImage.objects.filter(neuron__study=study))
    for n in range(12):
        rater = Rater.objects.create(
            name=f"OpenCLIP concept proportion ViT-B-32 laion2b threshold 0.{n:02d}",
            kind="openclip_cp",
            params={"threshold": n / 100},
        )
        Judgment.objects.bulk_create(
            Judgment(rater=rater, neuron_image=p, verdict="yes" if (i + n) % 2 else "no")
            for i, p in enumerate(pairs)
        )
    url = reverse("cross-study-report")
    sign_in(page, live_server, url)
    page.locator("table.grid").wait_for()
    widths = page.evaluate(
        """() => {
            const table = document.querySelector('table.grid');
            const box = table.parentElement;
            return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                    table: table.scrollWidth, box: box.clientWidth,
                    boxScrolls: getComputedStyle(box).overflowX};
        }"""
    )
    assert widths["table"] > widths["box"]  # the table really is wider than the page
    assert widths["page"] <= widths["view"], widths  # yet the page does not scroll sideways
    assert widths["boxScrolls"] == "auto"
