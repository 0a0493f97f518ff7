"""Units exist as soon as a neuron has its k images, whoever asks first; never before."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.annotation.members import do_create_invite, do_join_study
from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import NeuronImage, Study, Unit
from tests.helpers import give_to_staff, manifest, png_bytes

IMAGES = {f"img{i}.png": png_bytes((200, 10 * i, 10), seed=i) for i in range(6)}
ROWS = [  # conv1:0 gets its k=3 images, conv1:1 two of them, conv1:2 none
    ("conv1", 0, 1, "img0.png", 9.5),
    ("conv1", 0, 2, "img1.png", 8.0),
    ("conv1", 0, 3, "img2.png", 7.0),
    ("conv1", 1, 1, "img3.png", 7.0),
    ("conv1", 1, 2, "img4.png", 6.0),
]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for name, data in IMAGES.items():
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def imported(db, staff, annotators, folder):
    """A study that alice joined before anything was imported into it."""
    study = give_to_staff(
        Study.objects.create(name="fresh", target_network="rn50", probe_dataset="gen", k=3)
    )
    do_join_study(annotators["alice"], do_create_invite(study, staff))
    do_import_labels(study, b"layer,unit,description\nconv1,0,red\nconv1,1,blue\nconv1,2,green\n")
    do_import_images(study, manifest(ROWS), folder)
    return study


def next_over_api(user, study) -> dict:
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(f"/api/annotate/{study.pk}/next/", {"prefetch": 3}, format="json")
    assert response.status_code == 200
    return response.json()


def test_scripted_annotation_finds_units_on_a_freshly_imported_study(imported, annotators, staff):
    do_join_study(staff, do_create_invite(imported, staff))  # staff join by invite too
    for user in (annotators["alice"], staff):
        body = next_over_api(user, imported)
        assert [(u["label"], len(u["images"])) for u in body["units"]] == [("red", 3)]
        assert body["progress"]["finished"] is False


def test_a_neuron_is_served_only_with_its_k_images(imported, annotators, folder, client, staff):
    alice = annotators["alice"]
    assert set(Unit.objects.values_list("neuron__label", flat=True)) == {"red"}
    client.force_login(alice)
    page = client.get(reverse("annotation-page", args=[imported.pk])).content.decode()
    assert "2 neurons of this study are waiting for images" in page
    client.force_login(staff)
    manage = client.get(reverse("annotation-manage", args=[imported.pk])).content.decode()
    assert "2 neurons are waiting for images" in manage
    blue = imported.neurons.get(label="blue")
    third = NeuronImage.objects.filter(neuron__label="red", rank=3).get().image
    NeuronImage.objects.create(neuron=blue, image=third, rank=3)  # its k-th image arrives
    labels = [u["label"] for u in next_over_api(alice, imported)["units"]]
    assert labels == ["red", "blue"]
    manage = client.get(reverse("annotation-manage", args=[imported.pk])).content.decode()
    assert "1 neuron is waiting for images" in manage
