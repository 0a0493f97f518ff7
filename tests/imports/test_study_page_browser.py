"""The study page in Debian's Chromium: its label sets with their sizes, one shown at a time,
the choice kept while moving between layers."""


import pytest

from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import Study
from tests.helpers import chromium_page, give_to_staff, log_in, png_bytes, zip_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def study(staff):
    study = give_to_staff(
        Study.objects.create(name="Two sets", target_network="rn", probe_dataset="p", k=1)
    )
    do_import_labels(
        study, b"layer,unit,description,similarity\nconv1,0,red,0.3\nconv1,1,blue,0.2\n"
        b"conv2,0,grass,0.4\n", label_set="CLIP-Dissect",
    )  # fmt: skip
    do_import_labels(
        study, b"unit,category,label,score\n1,object,sky,0.1\n2,color,crimson,0.05\n",
        label_set="NetDissect", layer="conv1",
    )  # fmt: skip
    archive = zip_bytes({"a.png": png_bytes(seed=1), "b.png": png_bytes(seed=2)})
    do_import_images(study, b"layer,unit,rank,path\nconv1,0,1,a.png\nconv1,1,1,b.png\n", archive)
    return study


@pytest.fixture
def page(live_server, staff):
    with chromium_page() as page:
        log_in(page, live_server, "staff", "/")
        yield page


def test_staff_pick_a_label_set_and_keep_it_across_layers(page, live_server, study, tmp_path):
    page.goto(f"{live_server.url}/studies/{study.pk}/")
    table = page.locator(".label-sets table")
    assert table.locator("tbody tr").all_inner_texts() == [
        "CLIP-Dissect\tclip_dissect\t3",
        "NetDissect\tnetdissect\t2",
    ]
    assert page.locator(".label-sets tr.on").inner_text().startswith("CLIP-Dissect")
    assert page.locator(".neuron .label").all_inner_texts() == ["red", "blue", "grass"]
    assert page.locator(".listbar .count").inner_text() == "3 neurons in CLIP-Dissect"

    table.get_by_role("link", name="NetDissect").click()
    page.wait_for_url("**label_set=*")
    assert page.locator(".neuron .label").all_inner_texts() == ["sky", "crimson"]
    assert page.locator(".neuron .score").all_inner_texts() == ["iou 0.100", "iou 0.050"]
    assert page.locator(".neuron img").count() == 2  # the units' images, stored once
    assert page.locator(".label-sets tr.on").inner_text().startswith("NetDissect")

    page.locator(".layers a", has_text="conv2").click()
    page.wait_for_url("**layer=conv2")
    assert page.locator(".listbar .count").inner_text() == "0 neurons in NetDissect"
    page.locator(".layers a", has_text="conv1").click()
    page.wait_for_url("**layer=conv1")
    assert page.locator(".neuron .label").all_inner_texts() == ["sky", "crimson"]
    page.screenshot(path=tmp_path / "label-sets.png", full_page=True)
    assert (tmp_path / "label-sets.png").stat().st_size > 10_000
