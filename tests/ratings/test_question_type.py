"""A study's question type: chosen when it is created, shown on its page, never changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Study
from tests.helpers import give_to_staff

pytestmark = pytest.mark.django_db
BODY = {"name": "DnD study", "target_network": "resnet50", "probe_dataset": "broden"}


def test_a_study_asks_yes_no_per_image_unless_told(staff_api):
    response = staff_api.post("/api/studies/", BODY, format="json")
    assert response.status_code == 201 and response.json()["question_type"] == "pair_yes_no"


def test_the_question_type_is_chosen_at_creation_and_kept(staff_api):
    response = staff_api.post(
        "/api/studies/", {**BODY, "question_type": "label_rating"}, format="json"
    )
    assert response.status_code == 201 and response.json()["question_type"] == "label_rating"
    url = f"/api/studies/{response.json()['id']}/"
    changed = staff_api.patch(url, {"question_type": "best_of"}, format="json")
    assert changed.status_code == 400
    assert changed.json() == {
        "question_type": ["The question type is chosen when a study is created."]
    }
    same = staff_api.patch(url, {"question_type": "label_rating", "notes": "n"}, format="json")
    assert same.status_code == 200 and same.json()["notes"] == "n"
    assert Study.objects.get().question_type == "label_rating"


def test_an_unknown_question_type_is_refused(staff_api):
    response = staff_api.post("/api/studies/", {**BODY, "question_type": "essay"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"question_type": ['"essay" is not a valid choice.']}
    assert not Study.objects.exists()


def test_the_study_page_names_the_question(client, staff):
    study = give_to_staff(Study.objects.create(**BODY, question_type=Study.QuestionType.BEST_OF))
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Question: Best of the label sets&#x27; labels" in page


def test_the_import_form_and_import_labels_choose_it_for_new_studies(client, staff, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import CommandError, call_command

    labels = b"layer,unit,description\nlayer1,0,dog\n"
    client.force_login(staff)
    form = {
        **BODY, "method": "milan", "k": 3, "notes": "", "question_type": "label_rating",
        "labels": SimpleUploadedFile("labels.csv", labels),
    }  # fmt: skip
    response = client.post(reverse("study-import"), form)
    assert response.status_code == 302
    assert Study.objects.get(name="DnD study").question_type == "label_rating"
    path = tmp_path / "labels.csv"
    path.write_bytes(labels)
    new = ["--network", "n", "--probe-dataset", "p"]
    call_command("import_labels", str(path), "--study", "B", *new, "--question-type", "best_of")
    assert Study.objects.get(name="B").question_type == "best_of"
    with pytest.raises(CommandError, match="already exists with question_type=best_of"):
        call_command("import_labels", str(path), "--study", "B", "--question-type", "label_rating")
