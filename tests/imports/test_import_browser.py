"""The import pages in Debian's Chromium: a refused import lists every problem, keeps the
files, and the retry needs only the file that was fixed."""

import os
from pathlib import Path

import pytest

from annotate.importers.labels import do_import_labels
from annotate.models import LabelSet, NeuronImage, Study
from tests.helpers import chromium_page, give_to_staff, log_in, png_bytes, zip_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABELS = b"layer,unit,description,similarity\nconv1,0,red,0.3\nconv1,1,blue,0.2\n"
BAD_MANIFEST = b"layer,unit,rank,path\nconv1,0,9,a.png\nconv7,0,1,a.png\nconv1,1,1,gone.png\n"
GOOD_MANIFEST = b"layer,unit,rank,path\nconv1,0,1,a.png\nconv1,1,1,b.png\n"


@pytest.fixture(autouse=True)
def _orm_beside_playwright_and_kept_files_in_tmp(monkeypatch, settings, tmp_path):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.NEURONJUDGE_KEPT_UPLOADS_DIR = tmp_path / "kept"


@pytest.fixture
def study(staff):
    study = give_to_staff(
        Study.objects.create(name="Shapes", target_network="rn", probe_dataset="p", k=2)
    )
    do_import_labels(study, b"layer,unit,description\nconv1,0,red\nconv1,1,blue\n")
    return study


@pytest.fixture
def page(live_server, staff):
    with chromium_page() as page:
        log_in(page, live_server, "staff", "/")
        yield page


def _upload(name, data, mime="text/csv"):
    return {"name": name, "mimeType": mime, "buffer": data}


def _screenshot(page, tmp_path, name):
    folder = Path(os.environ.get("NJ_IMPORT_SCREENSHOTS", tmp_path))
    path = folder / name
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 10_000


def test_staff_add_images_to_a_study_and_fix_only_the_bad_manifest(
    page, live_server, study, tmp_path
):
    page.goto(f"{live_server.url}/studies/{study.pk}/")
    page.click("text=Add labels or images")
    page.wait_for_url(f"**/studies/{study.pk}/add/")
    page.fill("#id_label_set", "clip run 2")
    page.set_input_files("#id_labels", _upload("descriptions.csv", LABELS))
    page.set_input_files("#id_manifest", _upload("manifest.csv", BAD_MANIFEST))
    archive = zip_bytes({"a.png": png_bytes(seed=1), "b.png": png_bytes(seed=2)})
    page.set_input_files("#id_images", _upload("images.zip", archive, "application/zip"))
    page.click("button[type=submit]")

    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert alert.locator("li").all_inner_texts() == [
        "manifest.csv, line 2: rank 9 is outside 1..2 (the study's k)",
        "manifest.csv, line 3: unknown neuron conv7:0: import its label first",
        "manifest.csv, line 4: gone.png is not in images.zip",
    ]
    assert page.locator(".kept").all_inner_texts() == [
        "kept: descriptions.csv",
        "kept: manifest.csv",
        "kept: images.zip",
    ]
    assert page.input_value("#id_label_set") == "clip run 2"
    _screenshot(page, tmp_path, "import-refused.png")
    assert not LabelSet.objects.filter(name="clip run 2").exists()

    page.set_input_files("#id_manifest", _upload("manifest.csv", GOOD_MANIFEST))
    page.click("button[type=submit]")
    page.wait_for_url(f"**/studies/{study.pk}/")
    page.locator("text=descriptions.csv: 2 neuron rows read; 2 created").wait_for()
    assert page.locator("text=manifest.csv: 2 image rows read; 2 created").is_visible()
    assert LabelSet.objects.get(name="clip run 2").neurons.count() == 2
    assert NeuronImage.objects.filter(neuron__study=study).count() == 4
    _screenshot(page, tmp_path, "import-added.png")


def test_a_taken_name_leads_to_the_add_form_of_that_study(page, live_server, study, tmp_path):
    page.goto(f"{live_server.url}/studies/import/")
    page.fill("#id_name", "Shapes")
    page.set_input_files("#id_labels", _upload("descriptions.csv", LABELS))
    page.click("button[type=submit]")
    page.locator("text=A study with this name already exists.").wait_for()
    assert page.locator(".kept").all_inner_texts() == ["kept: descriptions.csv"]
    _screenshot(page, tmp_path, "import-name-taken.png")
    page.click("text=add labels or images to “Shapes”")
    page.wait_for_url(f"**/studies/{study.pk}/add/")
    assert page.locator("h1").inner_text() == "Add labels or images to Shapes"
