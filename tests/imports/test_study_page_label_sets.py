"""The study page lists its label sets and shows one at a time: counts and pages are per
label set, not every label set's neurons mixed."""

import re

import pytest
from django.urls import reverse

from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import LabelSet, Study
from tests.helpers import give_to_staff, png_bytes, zip_bytes

pytestmark = pytest.mark.django_db

CLIP = b"layer,unit,description,similarity\nconv1,0,red,0.31\nconv1,1,blue,0.22\n"
NETDISSECT = b"unit,category,label,score\n2,color,red-c,0.08\n1,object,sky,0.14\n"
MANIFEST = b"layer,unit,rank,path\nconv1,0,1,a.png\nconv1,1,1,b.png\n"


@pytest.fixture
def study(staff):
    study = give_to_staff(
        Study.objects.create(name="Two sets", target_network="rn", probe_dataset="p", k=1)
    )
    do_import_labels(study, CLIP, label_set="CLIP-Dissect 10k")
    do_import_labels(study, NETDISSECT, label_set="NetDissect", layer="conv1")
    archive = zip_bytes({"a.png": png_bytes(seed=1), "b.png": png_bytes(seed=2)})
    do_import_images(study, MANIFEST, archive)
    return study


def labels_on(html: str) -> list[str]:
    return re.findall(r'<span class="label">([^<]*)</span>', html)


def test_the_first_label_set_is_shown_with_every_set_listed(client, staff, study):
    client.force_login(staff)
    html = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert labels_on(html) == ["red", "blue"]
    assert "2 neurons in CLIP-Dissect 10k" in html and "4 neurons" not in html
    rows = re.findall(r"<td><a [^>]*>([^<]*)</a></td>\s*<td>([^<]*)</td><td[^>]*>(\d+)</td>", html)
    assert rows == [("CLIP-Dissect 10k", "clip_dissect", "2"), ("NetDissect", "netdissect", "2")]
    assert html.count('<img src="/media/probe/') == 2
    assert 'title="similarity">similarity 0.310' in html


def test_another_label_set_is_picked_by_id(client, staff, study):
    client.force_login(staff)
    netdissect = LabelSet.objects.get(name="NetDissect")
    url = reverse("study-detail", args=[study.pk])
    html = client.get(url, {"label_set": netdissect.pk}).content.decode()
    assert labels_on(html) == ["sky", "red-c"]  # units 0 and 1 (tally's 1-based 1 and 2)
    assert "2 neurons in NetDissect" in html and 'title="iou">iou 0.140' in html
    assert f'href="?label_set={netdissect.pk}&amp;layer=conv1"' in html  # layers keep the set
    assert html.count('<img src="/media/probe/') == 2  # images are the unit's, once stored
    html = client.get(url, {"label_set": netdissect.pk, "layer": "conv9"}).content.decode()
    assert labels_on(html) == [] and "0 neurons in NetDissect" in html


def test_a_label_set_of_another_study_is_not_found(client, staff, study):
    other = Study.objects.create(name="Other", target_network="rn", probe_dataset="p")
    do_import_labels(other, CLIP)
    client.force_login(staff)
    url = reverse("study-detail", args=[study.pk])
    assert client.get(url, {"label_set": other.label_sets.get().pk}).status_code == 404
    assert client.get(url, {"label_set": "x"}).status_code == 404


def test_pages_are_per_label_set_and_keep_it(client, staff):
    study = give_to_staff(
        Study.objects.create(name="Many", target_network="rn", probe_dataset="p", k=1)
    )
    rows = "".join(f"conv1,{unit},c{unit},0.1\n" for unit in range(50))
    labels = f"layer,unit,description,similarity\n{rows}".encode()
    for name in ("first", "second"):
        do_import_labels(study, labels, label_set=name)
    second = LabelSet.objects.get(name="second")
    client.force_login(staff)
    url = reverse("study-detail", args=[study.pk])
    html = client.get(url, {"label_set": second.pk}).content.decode()
    assert "50 neurons in second" in html and "Page 1 of 2" in html
    assert f'href="?label_set={second.pk}&amp;page=2"' in html
    html = client.get(url, {"label_set": second.pk, "page": 2}).content.decode()
    assert labels_on(html) == ["c48", "c49"]


def test_a_study_without_neurons_says_so(client, staff):
    study = give_to_staff(
        Study.objects.create(name="Empty", target_network="rn", probe_dataset="p")
    )
    client.force_login(staff)
    html = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "No neurons imported yet." in html and "Label sets" not in html
