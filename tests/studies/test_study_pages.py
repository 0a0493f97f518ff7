import re

import pytest
from django.urls import reverse

from annotate.demo import DEMO_K, DEMO_NEURONS, do_load_demo
from annotate.models import Study, StudyAnnotator, StudyRole
from tests.helpers import png_bytes, snapshot, zip_bytes

pytestmark = pytest.mark.django_db


def test_demo_page_shows_neurons_with_their_images(client, staff, django_assert_max_num_queries):
    study = do_load_demo()
    StudyRole.objects.create(study=study, user=staff, role="viewer")
    client.force_login(staff)
    # session, user, study, members, panels, label sets, (label set, layer) counts, one id
    # query per layer on the page, neurons, images: a constant, however many neurons it has
    with django_assert_max_num_queries(14):
        response = client.get(reverse("study-detail", args=[study.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    images = re.findall(r'<img src="/media/probe/[0-9a-f/]+\.png"', html)
    assert len(images) == len(DEMO_NEURONS) * DEMO_K
    first = DEMO_NEURONS[0]
    assert f"{first.layer}:{first.unit}" in html and first.label in html
    assert f"{first.score:.3f}" in html


def test_study_page_filters_by_layer_and_pages(client, staff, make_study):
    study = make_study(neurons=60, k=1)
    client.force_login(staff)
    url = reverse("study-detail", args=[study.pk])
    html = client.get(url, {"layer": "layer1"}).content.decode()
    assert html.count('class="neuron"') == 48 and "Page 1 of 2" in html
    html = client.get(url, {"layer": "layer1", "page": 2}).content.decode()
    assert html.count('class="neuron"') == 12
    assert 'class="neuron"' not in client.get(url, {"layer": "layer9"}).content.decode()


def _layer_count_queries(client, url) -> tuple[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        html = client.get(url).content.decode()
    return html, sum("GROUP BY" in q["sql"] for q in captured.captured_queries)


@pytest.mark.django_db(transaction=True)  # the neuron counter moves at commit
def test_layer_counts_are_cached_until_a_neuron_changes(client, staff, make_study):
    from annotate.models import Neuron

    study = make_study(neurons=3, k=1)
    client.force_login(staff)
    url = reverse("study-detail", args=[study.pk])
    html, counted = _layer_count_queries(client, url)
    assert "3 neurons" in html and counted == 1
    html, counted = _layer_count_queries(client, url)
    assert "3 neurons" in html and counted == 0  # from the cache

    Neuron.objects.create(study=study, layer="layer1", unit=99, label="late import")
    html, counted = _layer_count_queries(client, url)
    assert "4 neurons" in html and "late import" in html and counted == 1


def test_home_lists_studies_and_links_import_for_staff_only(client, staff, annotators):
    study = do_load_demo()
    StudyAnnotator.objects.create(study=study, user=annotators["alice"])
    client.force_login(annotators["alice"])
    html = client.get("/").content.decode()
    assert "Demo: synthetic shapes" in html and reverse("study-import") not in html
    assert reverse("annotation-page", args=[study.pk]) in html  # annotators go to their units
    assert f'"{reverse("study-detail", args=[study.pk])}"' not in html
    client.force_login(annotators["bob"])  # not a member: sees nothing of the study
    assert "Demo: synthetic shapes" not in client.get("/").content.decode()
    client.force_login(staff)
    assert reverse("study-import") in client.get("/").content.decode()


def test_study_pages_need_staff(client, annotators):
    study = do_load_demo()
    url = reverse("study-detail", args=[study.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert client.get("/").status_code == 302
    StudyAnnotator.objects.create(study=study, user=annotators["alice"])
    client.force_login(annotators["alice"])
    assert client.get(url).status_code == 403  # a member annotator: not the staff view
    client.force_login(annotators["bob"])
    assert client.get(url).status_code == 404  # not a member: the study is not disclosed


def test_import_page_is_staff_only(client, annotators):
    client.force_login(annotators["alice"])
    response = client.get(reverse("study-import"))
    assert response.status_code == 302 and "login" in response.url


def _form(**files):
    data = {
        "name": "Uploaded",
        "target_network": "resnet50",
        "probe_dataset": "broden",
        "method": "clip_dissect",
        "k": 2,
        "notes": "",
    }
    return {**data, **files}


def _file(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_upload_creates_study_with_concepts_labels_and_images(client, staff):
    client.force_login(staff)
    response = client.post(
        reverse("study-import"),
        _form(
            labels=_file(
                "descriptions.csv", b"layer,unit,description,similarity\nconv1,0,red,0.3\n"
            ),
            concept_file=_file("colours.txt", b"red\nblue\n"),
            manifest=_file("m.csv", b"layer,unit,rank,path\nconv1,0,1,a.png\nconv1,0,2,b.png\n"),
            images=_file(
                "imgs.zip", zip_bytes({"a.png": png_bytes(seed=1), "b.png": png_bytes(seed=2)})
            ),
        ),
        follow=True,
    )
    study = Study.objects.get(name="Uploaded")
    assert response.redirect_chain[-1][0] == reverse("study-detail", args=[study.pk])
    assert study.concept_set.name == "colours" and study.owner == staff
    assert study.neurons.get().images.count() == 2
    html = response.content.decode()
    assert "descriptions.csv: 1 neuron rows read; 1 created" in html
    assert html.count("<img ") == 2


def test_upload_with_bad_files_shows_file_and_line_and_changes_nothing(client, staff):
    client.force_login(staff)
    before = snapshot()
    response = client.post(
        reverse("study-import"),
        _form(
            labels=_file("descriptions.csv", b"layer,unit,description\nconv1,0,red\n"),
            concept_file=_file("colours.txt", b"red\n"),
            manifest=_file("m.csv", b"layer,unit,rank,path\nconv1,0,1,a.png\nconv1,5,1,a.png\n"),
            images=_file("imgs.zip", zip_bytes({"a.png": png_bytes(seed=1)})),
        ),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Import refused, nothing was changed" in html
    assert "<code>m.csv, line 3</code>: unknown neuron conv1:5" in html
    assert snapshot() == before


def test_upload_form_validation(client, staff):
    client.force_login(staff)
    Study.objects.create(name="Uploaded", target_network="x", probe_dataset="y")
    response = client.post(
        reverse("study-import"),
        _form(labels=_file("l.csv", b"x"), manifest=_file("m.csv", b"x")),
    )
    html = response.content.decode()
    assert "A study with this name already exists." in html
    assert "Upload the manifest and the zip of images together." in html


def test_neurons_follow_the_network_order_of_layers(client, staff):
    client.force_login(staff)
    from annotate.importers.labels import do_import_labels

    study = Study.objects.create(name="order", target_network="vit", probe_dataset="p")
    StudyRole.objects.create(study=study, user=staff, role="owner")
    do_import_labels(study, b"layer,unit,description\nblock2,1,a\nblock10,0,b\nblock2,0,c\n")
    html = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    found = re.findall(r'<span class="layer">([^<]+)</span>', html)
    assert found == ["block2:0", "block2:1", "block10:0"]
