"""Hostile uploads through the API: each refused with a clear 400 naming the problem, and
the database unchanged (rows counted before and after)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from annotate.models import ConceptSet, Neuron, NeuronImage, ProbeImage, Study
from tests.helpers import png_bytes, zip_bytes

pytestmark = pytest.mark.django_db

LABELS = b"layer,unit,description,similarity\nlayer1,0,red,0.31\nlayer1,1,blue,0.27\n"
MANIFEST = b"layer,unit,rank,path\nlayer1,0,1,a.png\nlayer1,1,1,b.png\n"


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Study, ConceptSet, Neuron, NeuronImage, ProbeImage)
    }


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.fixture
def study(staff_api):
    body = {"name": "hostile", "target_network": "resnet50", "probe_dataset": "broden", "k": 1}
    study = Study.objects.get(pk=staff_api.post("/api/studies/", body, format="json").json()["id"])
    response = staff_api.post(
        f"/api/studies/{study.pk}/import-labels/",
        {"file": upload("labels.csv", LABELS)},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    return study


def upload_refused(response, before: dict, message: str) -> dict:
    """Assert a 400 naming `message`, nothing changed; returns the body."""
    body = response.json()
    assert response.status_code == 400, body
    assert body["detail"].startswith("Import refused, nothing was changed")
    assert any(message in problem["message"] for problem in body["problems"]), body
    assert counts() == before
    return body


def post_images(staff_api, study, manifest: bytes, archive: bytes, name: str = "images.zip"):
    return staff_api.post(
        f"/api/studies/{study.pk}/import-images/",
        {"manifest": upload("manifest.csv", manifest), "images": upload(name, archive)},
        format="multipart",
    )


def test_a_good_import_goes_through_and_again_changes_nothing(staff_api, study):
    archive = zip_bytes({"a.png": png_bytes(seed=1), "b.png": png_bytes(seed=2)})
    first = post_images(staff_api, study, MANIFEST, archive)
    assert first.status_code == 200, first.json()
    assert first.json()["created"] == 2
    before = counts()
    again = post_images(staff_api, study, MANIFEST, archive)
    assert again.json()["unchanged"] == 2
    assert counts() == before
    labels = staff_api.post(
        f"/api/studies/{study.pk}/import-labels/",
        {"file": upload("labels.csv", LABELS)},
        format="multipart",
    )
    assert labels.json() == {
        "kind": "neuron",
        "file": "labels.csv",
        "format": "clip_dissect",
        "rows": 2,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "images_stored": 0,
        "notes": [],
        "summary": "labels.csv: 2 neuron rows read; 0 created, 0 updated, 2 unchanged",
    }


def test_huge_csv_is_refused(staff_api, study, settings):
    settings.NEURONJUDGE_MAX_IMPORT_FILE_BYTES = 1_000
    before = counts()
    big = LABELS + b"".join(b"layer2,%d,word,0.1\n" % i for i in range(200))
    response = staff_api.post(
        f"/api/studies/{study.pk}/import-labels/",
        {"file": upload("labels.csv", big)},
        format="multipart",
    )
    upload_refused(response, before, "over the 1,000-byte limit")


def test_wrong_encoding_is_refused(staff_api, study):
    before = counts()
    latin1 = "layer,unit,description,similarity\nlayer3,0,café,0.2\n".encode("latin-1")
    response = staff_api.post(
        f"/api/studies/{study.pk}/import-labels/",
        {"file": upload("labels.csv", latin1)},
        format="multipart",
    )
    body = upload_refused(response, before, "not UTF-8 text")
    assert body["problems"] == [
        {"file": "labels.csv", "line": 2, "message": "not UTF-8 text; save the file as UTF-8"}
    ]


def test_concept_set_in_a_wrong_encoding_or_binary_is_refused(staff_api):
    before = counts()
    for data, message in (("rouge\ncafé\n".encode("utf-16"), "UTF-8"), (b"a\x00b\n", "NUL")):
        response = staff_api.post(
            "/api/concept-sets/",
            {"name": "bad", "file": upload("c.txt", data)},
            format="multipart",
        )
        upload_refused(response, before, message)


def test_zip_entries_escaping_the_folder_are_refused(staff_api, study):
    before = counts()
    manifest = b"layer,unit,rank,path\nlayer1,0,1,../../etc/evil.png\nlayer1,1,1,/abs/b.png\n"
    archive = zip_bytes({"../../etc/evil.png": png_bytes(seed=3), "b.png": png_bytes(seed=4)})
    body = upload_refused(post_images(staff_api, study, manifest, archive), before, "escapes")
    assert any("is absolute" in p["message"] for p in body["problems"])


def test_symlinks_in_archives_are_refused(staff_api, study):
    before = counts()
    archive = zip_bytes({"b.png": png_bytes(seed=5)}, links={"a.png": "/etc/passwd"})
    upload_refused(post_images(staff_api, study, MANIFEST, archive), before, "symbolic link")


def test_decompression_bombs_are_refused(staff_api, study):
    bomb = io.BytesIO()
    Image.new("1", (8_000, 8_000)).save(bomb, format="PNG")  # 64 Mpx in a few kB
    assert len(bomb.getvalue()) < 100_000
    before = counts()
    archive = zip_bytes({"a.png": bomb.getvalue(), "b.png": png_bytes(seed=6)})
    upload_refused(post_images(staff_api, study, MANIFEST, archive), before, "pixel")


def test_truncated_and_non_image_files_are_refused(staff_api, study):
    before = counts()
    archive = zip_bytes({"a.png": png_bytes(seed=7)[:60], "b.png": b"#!/bin/sh\necho hi\n"})
    body = upload_refused(post_images(staff_api, study, MANIFEST, archive), before, "truncated")
    assert any("not an image" in p["message"] for p in body["problems"])


def test_a_file_that_is_not_a_zip_is_refused(staff_api, study):
    before = counts()
    upload_refused(post_images(staff_api, study, MANIFEST, b"PK\x03\x04 nope"), before, "not a zip")


def test_missing_upload_fields_are_a_clear_400(staff_api, study):
    before = counts()
    response = staff_api.post(f"/api/studies/{study.pk}/import-images/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {
        "manifest": ["No file was submitted."],
        "images": ["No file was submitted."],
    }
    assert counts() == before


def test_oversized_request_bodies_are_refused(staff_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    before = counts()
    body = {"name": "x", "target_network": "n", "probe_dataset": "p", "notes": "z" * 5_000}
    response = staff_api.post("/api/studies/", body, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "Request body too large: the limit is 2,000 bytes outside uploaded files."
    }
    assert counts() == before


def test_annotators_cannot_import(as_user, study, membership):
    membership(study, "alice")
    before = counts()
    response = as_user("alice").post(
        f"/api/studies/{study.pk}/import-labels/",
        {"file": upload("labels.csv", LABELS)},
        format="multipart",
    )
    assert response.status_code == 403
    assert counts() == before
