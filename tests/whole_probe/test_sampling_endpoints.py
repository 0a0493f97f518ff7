"""The same sampling from the API and from the small form on the study page: staff only,
the same design as the command, refusals as a 400 / an error message that change nothing."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.models import NeuronImage, Study
from tests.helpers import give_to_staff
from tests.whole_probe.helpers import UNITS, import_dissection, sampled_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(tmp_path, staff):
    return give_to_staff(import_dissection(tmp_path))


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def url(study) -> str:
    return f"/api/studies/{study.pk}/sample-probe-images/"


def test_api_samples_and_says_what_it_did(study, staff_api):
    body = {"random": 5, "strata": 2, "per_stratum": 1, "seed": 7}
    response = staff_api.post(url(study), body, format="json")
    assert response.status_code == 200, response.content
    added = NeuronImage.objects.filter(is_sampled=True)
    assert response.json() == {
        "units": UNITS, "neurons": 2 * UNITS, "images": added.count(), "unchanged": 0,
        "started": 0, "notes": [],
        "summary": f"{added.count()} images added to {2 * UNITS} neurons over {UNITS} units; "
        "0 neurons unchanged, 0 already being annotated",
    }  # fmt: skip
    assert set(added.values_list("sample_design", flat=True)) == {
        "random=5;strata=2;per_stratum=1;seed=7"
    }
    again = staff_api.post(url(study), body, format="json").json()
    assert (again["images"], again["unchanged"]) == (0, 2 * UNITS)


def test_api_refusals_change_nothing(study, staff_api, annotators):
    bare = give_to_staff(Study.objects.create(name="bare", target_network="n", probe_dataset="p"))
    response = staff_api.post(url(bare), {"random": 3}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Sampling refused, nothing was changed: study 'bare' has no probe set: "
        "import one with import_probe_set and the layers' activations with "
        "import_activations first"
    }
    response = staff_api.post(url(study), {"random": 0, "strata": 0}, format="json")
    assert response.status_code == 400 and "nothing to draw" in response.content.decode()
    response = staff_api.post(url(study), {"random": -2}, format="json")
    assert response.status_code == 400 and "random" in response.json()
    alice = APIClient()
    alice.force_authenticate(annotators["alice"])
    assert alice.post(url(study), {"random": 3}, format="json").status_code in (403, 404)
    assert not NeuronImage.objects.filter(is_sampled=True).exists()


def test_the_study_page_form_samples_for_staff(study, client, staff, annotators):
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Images beyond the top-k" in page and "per_stratum" in page
    post = reverse("study-sample-probe-images", args=[study.pk])
    form = {"random": 4, "strata": 3, "per_stratum": 1, "seed": 2}
    response = client.post(post, form, follow=True)
    assert "images added to 12 neurons over 6 units" in response.content.decode()
    rows = sampled_rows(study)
    assert rows and {r[4] for r in rows} == {"random=4;strata=3;per_stratum=1;seed=2"}
    response = client.post(post, form | {"seed": 3}, follow=True)
    assert "Sampling refused, nothing was changed" in response.content.decode()
    assert sampled_rows(study) == rows
    client.force_login(annotators["alice"])
    assert client.post(post, form).status_code in (403, 404)
    assert sampled_rows(study) == rows
