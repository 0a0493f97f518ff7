"""The staff pages that import files: adding labels and images to a study, and files kept
on the server after a refusal so that a retry needs only the files that change."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotate.importers.labels import do_import_labels
from annotate.kept_uploads import KeptUploads, access_kept_uploads
from annotate.models import LabelSet, NeuronImage, Study
from tests.helpers import give_to_staff, png_bytes, snapshot, zip_bytes

pytestmark = pytest.mark.django_db

LABELS = b"layer,unit,description,similarity\nconv1,0,red,0.3\nconv1,1,blue,0.2\n"
GOOD_MANIFEST = b"layer,unit,rank,path\nconv1,0,1,a.png\nconv1,1,1,b.png\n"
BAD_MANIFEST = b"layer,unit,rank,path\nconv1,0,9,a.png\nconv7,0,1,a.png\nconv1,1,1,gone.png\n"


@pytest.fixture(autouse=True)
def _kept_in_tmp(settings, tmp_path):
    settings.NEURONJUDGE_KEPT_UPLOADS_DIR = tmp_path / "kept"


@pytest.fixture
def study(staff):
    study = give_to_staff(
        Study.objects.create(name="Shapes", target_network="rn", probe_dataset="p", k=2)
    )
    do_import_labels(study, b"layer,unit,description\nconv1,0,red\nconv1,1,blue\n")
    return study


def _file(name, data):
    return SimpleUploadedFile(name, data)


def _zip():
    return _file("imgs.zip", zip_bytes({"a.png": png_bytes(seed=1), "b.png": png_bytes(seed=2)}))


def test_study_page_links_staff_to_the_add_form(client, staff, study):
    client.force_login(staff)
    html = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert f'href="{reverse("study-add", args=[study.pk])}">Add labels or images</a>' in html


def test_add_form_imports_a_new_label_set_and_images(client, staff, study):
    client.force_login(staff)
    url = reverse("study-add", args=[study.pk])
    assert '<option value="MILAN">' not in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "label_set": "clip run 2",
            "format": "",
            "layer": "",
            "labels": _file("d.csv", LABELS),
            "manifest": _file("m.csv", GOOD_MANIFEST),
            "images": _zip(),
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("study-detail", args=[study.pk])
    labels = LabelSet.objects.get(study=study, name="clip run 2")
    assert sorted(labels.neurons.values_list("label", flat=True)) == ["blue", "red"]
    # images are given per unit: both label sets' neurons have them
    assert NeuronImage.objects.filter(neuron__study=study).count() == 4
    html = response.content.decode()
    assert "d.csv: 2 neuron rows read; 2 created" in html and "m.csv: 2 image rows" in html


def test_add_form_offers_the_label_sets_and_asks_for_a_layer_where_needed(client, staff, study):
    client.force_login(staff)
    url = reverse("study-add", args=[study.pk])
    first = study.label_sets.get().name
    assert f'<option value="{first}">' in client.get(url).content.decode()
    tally = b"unit,category,label,score\n1,color,red,0.2\n"
    html = client.post(url, {"labels": _file("tally.csv", tally)}).content.decode()
    assert "NetDissect-Lite tally.csv does not name the layer: give it here." in html
    response = client.post(
        url, {"labels": _file("tally.csv", tally), "layer": "conv2", "label_set": "nd"}
    )
    assert response.status_code == 302
    assert LabelSet.objects.get(name="nd").neurons.get().layer == "conv2"


def test_add_form_lists_every_problem_and_changes_nothing(client, staff, study):
    client.force_login(staff)
    before = snapshot()
    html = client.post(
        reverse("study-add", args=[study.pk]),
        {"manifest": _file("m.csv", BAD_MANIFEST), "images": _zip()},
    ).content.decode()
    assert "nothing was changed: 3 problems" in html
    assert "<code>m.csv, line 2</code>: rank 9 is outside 1..2" in html
    assert "<code>m.csv, line 3</code>: unknown neuron conv7:0" in html
    assert "<code>m.csv, line 4</code>: gone.png is not in imgs.zip" in html
    assert snapshot() == before


def test_refused_label_file_is_listed_with_the_image_files_problems(client, staff, study):
    client.force_login(staff)
    html = client.post(
        reverse("study-add", args=[study.pk]),
        {
            "labels": _file("d.csv", b"layer,unit,description\nconv1,x,red\n"),
            "manifest": _file("m.csv", BAD_MANIFEST),
            "images": _zip(),
        },
    ).content.decode()
    assert "<code>d.csv, line 2</code>: unit must be a whole number" in html
    assert "<code>m.csv, line 2</code>: rank 9 is outside 1..2" in html
    assert "<code>m.csv, line 4</code>: gone.png is not in imgs.zip" in html


def test_files_are_kept_after_a_refusal_and_only_the_bad_one_is_chosen_again(client, staff, study):
    client.force_login(staff)
    url = reverse("study-add", args=[study.pk])
    response = client.post(
        url,
        {
            "label_set": "second",
            "labels": _file("d.csv", LABELS),
            "manifest": _file("m.csv", BAD_MANIFEST),
            "images": _zip(),
        },
    )
    html = response.content.decode()
    assert 'value="second"' in html  # the other fields stay filled
    for name in ("d.csv", "m.csv", "imgs.zip"):
        assert f'<span class="kept">kept: <code>{name}</code></span>' in html
    token = response.context["kept_token"]
    response = client.post(
        url, {"kept": token, "label_set": "second", "manifest": _file("m2.csv", GOOD_MANIFEST)}
    )
    assert response.status_code == 302
    assert LabelSet.objects.get(name="second").neurons.count() == 2
    assert NeuronImage.objects.filter(neuron__study=study).count() == 4
    assert access_kept_uploads(staff, token) is None  # removed once imported


def test_kept_files_can_be_removed_and_belong_to_one_user(client, staff, study, django_user_model):
    client.force_login(staff)
    url = reverse("study-add", args=[study.pk])
    response = client.post(url, {"labels": _file("d.csv", LABELS), "manifest": _zip()})
    token = response.context["kept_token"]
    assert access_kept_uploads(staff, token).names() == {"labels": "d.csv", "manifest": "imgs.zip"}
    other = django_user_model.objects.create_user("other", is_staff=True)
    assert access_kept_uploads(other, token) is None
    assert access_kept_uploads(staff, token[:-2] + "xx") is None
    outside = KeptUploads(token).folder.parent / "outside"
    outside.mkdir()
    response = client.post(url, {"kept": token, "forget": ["manifest", "..", "../outside"]})
    assert outside.is_dir()  # only the form's own file fields are forgotten
    assert response.status_code == 302  # the kept label file alone was imported
    assert not KeptUploads(token).folder.exists()


def test_create_form_names_the_taken_study_with_a_link_to_add_to_it(client, staff, study):
    client.force_login(staff)
    html = client.post(
        reverse("study-import"),
        {
            "name": "Shapes",
            "target_network": "rn",
            "probe_dataset": "p",
            "method": "clip_dissect",
            "k": 2,
            "labels": _file("d.csv", LABELS),
        },
    ).content.decode()
    assert "A study with this name already exists." in html
    assert f'<a href="{reverse("study-add", args=[study.pk])}">add labels or images' in html
    assert '<span class="kept">kept: <code>d.csv</code></span>' in html


def test_create_form_lists_label_and_manifest_problems_together(client, staff):
    client.force_login(staff)
    before = snapshot()
    html = client.post(
        reverse("study-import"),
        {
            "name": "New",
            "target_network": "rn",
            "probe_dataset": "p",
            "method": "clip_dissect",
            "k": 2,
            "labels": _file("d.csv", b"layer,unit,description\nconv1,x,red\n"),
            "manifest": _file("m.csv", BAD_MANIFEST),
            "images": _zip(),
        },
    ).content.decode()
    assert "<code>d.csv, line 2</code>: unit must be a whole number" in html
    assert "<code>m.csv, line 4</code>: gone.png is not in imgs.zip" in html
    assert snapshot() == before
