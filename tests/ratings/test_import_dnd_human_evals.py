"""Describe-and-Dissect's human-evaluation file imports as it is: label sets, neurons,
evaluators and their ratings with flags; once, or not at all."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from annotate.models import LabelSet, Neuron, NeuronImage, Study
from evaluation.importers.dnd_human_evals import do_import_dnd_human_evals
from evaluation.models import LabelJudgment, Rater
from tests.helpers import refused
from tests.ratings.dnd_files import METHODS, dnd_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(db):
    return Study.objects.create(
        name="dnd", target_network="resnet50", probe_dataset="broden",
        question_type=Study.QuestionType.LABEL_RATING,
    )  # fmt: skip


def stored() -> dict:
    return {
        (
            j.rater.name.rsplit("-", 1)[1], j.neuron.label_set.name, j.layer, j.unit,
        ): (j.rating, j.uninterpretable, j.none_fits)
        for j in LabelJudgment.objects.select_related("rater", "neuron__label_set")
    }  # fmt: skip


def test_each_method_becomes_a_label_set_and_each_evaluator_a_human(study):
    generated = dnd_file(units={"layer3": 3, "layer4": 4})
    report = do_import_dnd_human_evals(study, generated.data)
    assert (report.rows, report.created, report.unchanged) == (7 * 4 * 2, 56, 0)
    assert list(study.label_sets.values_list("name", flat=True)) == list(METHODS)
    labels = {
        (n.label_set.name, n.layer, n.unit): n.label
        for n in Neuron.objects.filter(study=study).select_related("label_set")
    }
    assert labels == generated.labels
    assert stored() == {(e, m, lay, u): v for (e, m, lay, u), v in generated.ratings.items()}
    raters = Rater.objects.filter(label_judgments__study=study).distinct()
    assert sorted(raters.values_list("name", "kind")) == [
        (f"human:imported-{study.pk}-E1", "human"),
        (f"human:imported-{study.pk}-E2", "human"),
    ]
    assert all(not r.user.is_active for r in raters)
    assert set(LabelJudgment.objects.values_list("question", flat=True)) == {"label_rating"}
    study.refresh_from_db()
    assert study.layers == ["layer3", "layer4"]


def test_flags_are_kept_per_evaluator_and_unit(study):
    text = (
        "Layer,Unit,MILAN Label,MILAN E1 Rating,MILAN E2 Rating,DnD Label,DnD E1 Rating,"
        "DnD E2 Rating,Uninterpretable E1,None E1,Uninterpretable E2,None E2\n"
        "layer4,7,dogs,2,,Dog faces,5,,FALSE,FALSE,TRUE,FALSE\n"
        "layer4,8,water,1,1,sky,1,2,FALSE,TRUE,FALSE,False\n"
    )
    do_import_dnd_human_evals(study, text.encode())
    assert stored() == {
        ("E1", "MILAN", "layer4", 7): (2, False, False),
        ("E2", "MILAN", "layer4", 7): (None, True, False),
        ("E1", "DnD", "layer4", 7): (5, False, False),
        ("E2", "DnD", "layer4", 7): (None, True, False),
        ("E1", "MILAN", "layer4", 8): (1, False, True),
        ("E2", "MILAN", "layer4", 8): (1, False, False),
        ("E1", "DnD", "layer4", 8): (1, False, True),
        ("E2", "DnD", "layer4", 8): (2, False, False),
    }


def test_the_same_file_twice_changes_nothing(study):
    generated = dnd_file()
    do_import_dnd_human_evals(study, generated.data)
    before = (stored(), list(Neuron.objects.values_list("pk", "label")), LabelSet.objects.count())
    again = do_import_dnd_human_evals(study, generated.data)
    assert (again.created, again.unchanged) == (0, again.rows)
    after = (stored(), list(Neuron.objects.values_list("pk", "label")), LabelSet.objects.count())
    assert after == before


def test_a_changed_rating_or_label_is_refused_by_line_and_nothing_changes(study):
    generated = dnd_file(units={"layer4": 3})
    do_import_dnd_human_evals(study, generated.data)
    lines = generated.data.decode().splitlines()
    fields = lines[2].split(",")
    rating = int(fields[3])
    fields[3] = str(rating % 5 + 1)  # CLIP-Dissect E1 on line 3
    changed = "\n".join([*lines[:2], ",".join(fields), *lines[3:]]).encode()
    before = stored()
    refused(
        lambda: do_import_dnd_human_evals(study, changed),
        "line 3",
        f"E1 already has (rating={rating}",
    )
    fields = lines[3].split(",")
    fields[5] = "a new label"  # MILAN Label on line 4
    relabelled = "\n".join([*lines[:3], ",".join(fields), *lines[4:]]).encode()
    refused(
        lambda: do_import_dnd_human_evals(study, relabelled),
        "line 4",
        "label set 'MILAN' labels layer4:2",
    )
    assert stored() == before


def test_bad_cells_are_listed_by_line_and_nothing_is_stored(study):
    generated = dnd_file(units={"layer4": 3})
    lines = generated.data.decode().splitlines()
    rating, flag = lines[1].split(","), lines[2].split(",")
    rating[3], flag[-1] = "7", "maybe"
    text = "\n".join([lines[0], ",".join(rating), ",".join(flag), lines[3], lines[3]])
    refused(
        lambda: do_import_dnd_human_evals(study, text.encode()),
        "line 2: CLIP-Dissect E1 Rating must be a whole number 1 to 5, not '7'",
        "line 3: None E2 must be TRUE or FALSE, not 'maybe'",
        "line 5: layer4:2 is already on line 4",
    )
    no_flags = b"Layer,Unit,DnD Label,DnD E1 Rating\nlayer4,1,dog,3\n"
    refused(lambda: do_import_dnd_human_evals(study, no_flags), "line 1", "missing columns")
    assert not LabelSet.objects.exists() and not LabelJudgment.objects.exists()


def test_new_label_sets_share_the_units_images(study, make_study):
    from annotate.importers.labels import do_import_labels

    labels = b"layer,unit,description\nlayer4,0,dog\nlayer4,1,cat\n"
    do_import_labels(study, labels, label_set="seeded")
    first = Neuron.objects.get(study=study, unit=0)
    pairs = make_study("images", neurons=1, k=2).neurons.get().images.all()
    for pair in pairs:
        NeuronImage.objects.create(neuron=first, image=pair.image, rank=pair.rank)
    do_import_dnd_human_evals(study, dnd_file(units={"layer4": 2}).data)
    shown = {
        n.label_set.name: sorted(n.images.values_list("image_id", flat=True))
        for n in Neuron.objects.filter(study=study, unit=0).select_related("label_set")
    }
    assert len(shown) == 5
    assert all(images == sorted(p.image_id for p in pairs) for images in shown.values())


def test_command_and_api_take_the_format(study, tmp_path, staff_api):
    path = tmp_path / "human_evals.csv"
    path.write_bytes(dnd_file(units={"layer4": 2}).data)
    call_command("import_judgments", str(path), "--study", "dnd", "--format", "dnd-human-evals")
    assert LabelJudgment.objects.count() == 2 * 4 * 2
    upload = SimpleUploadedFile("more.csv", dnd_file(units={"layer3": 1}).data)
    response = staff_api.post(
        f"/api/studies/{study.pk}/import-judgments/",
        {"file": upload, "format": "dnd-human-evals"},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["format"], body["created"], body["rows"]) == ("dnd-human-evals", 8, 8)
    assert LabelJudgment.objects.count() == 16 + 8
