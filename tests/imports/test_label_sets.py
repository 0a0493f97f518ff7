"""Several label sets over the same neurons: each label its own Neuron, images stored once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import LabelSet, Neuron, NeuronImage, ProbeImage, Study
from tests.helpers import CLIP, MILAN, images_zip, refused


@pytest.fixture
def study(db):
    return Study.objects.create(name="s", target_network="resnet50", probe_dataset="broden", k=2)


def pairs(study, name: str) -> set:
    return set(
        NeuronImage.objects.filter(neuron__label_set__name=name, neuron__study=study).values_list(
            "neuron__unit", "rank", "image__sha256"
        )
    )


def test_a_study_starts_with_one_label_set_named_after_its_method(study):
    report = do_import_labels(study, CLIP)
    assert list(study.label_sets.values_list("name", "method")) == [
        ("CLIP-Dissect", "clip_dissect")
    ]
    assert report.created == 2
    assert set(Neuron.objects.values_list("label_set__name", flat=True)) == {"CLIP-Dissect"}


def test_a_second_label_set_shares_the_images_already_imported(study):
    do_import_labels(study, CLIP)
    do_import_images(study, *images_zip())
    report = do_import_labels(study, MILAN, label_set="MILAN base")
    assert "4 images shared" in report.summary()
    assert pairs(study, "MILAN base") == pairs(study, "CLIP-Dissect")
    assert len(pairs(study, "MILAN base")) == 4
    assert ProbeImage.objects.count() == 4
    labels = dict(Neuron.objects.filter(label_set__name="MILAN base").values_list("unit", "label"))
    assert labels == {0: "red things", 1: "sky"}


def test_images_imported_after_both_label_sets_go_to_both(study):
    do_import_labels(study, CLIP)
    do_import_labels(study, MILAN, label_set="MILAN base")
    report = do_import_images(study, *images_zip())
    assert (report.rows, report.created, report.unchanged) == (4, 4, 0)
    assert len(pairs(study, "MILAN base")) == 4 and pairs(study, "MILAN base") == pairs(
        study, "CLIP-Dissect"
    )
    again = do_import_images(study, *images_zip())
    assert (again.created, again.unchanged) == (0, 4)


def test_reimporting_a_label_set_changes_only_it(study):
    do_import_labels(study, CLIP)
    do_import_labels(study, MILAN, label_set="MILAN base")
    do_import_labels(study, MILAN.replace(b"sky", b"ocean"), label_set="MILAN base")
    assert dict(
        Neuron.objects.filter(label_set__name="CLIP-Dissect").values_list("unit", "label")
    ) == {0: "red", 1: "blue"}
    assert Neuron.objects.get(label_set__name="MILAN base", unit=1).label == "ocean"


def test_one_unit_once_per_label_set(study):
    do_import_labels(study, CLIP)
    label_set = study.label_sets.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Neuron.objects.create(study=study, label_set=label_set, layer="layer1", unit=0, label="x")


def test_a_label_set_of_another_study_is_refused_by_the_database(study):
    other = Study.objects.create(name="o", target_network="n", probe_dataset="p")
    foreign = LabelSet.objects.create(study=other, name="theirs")
    with pytest.raises(IntegrityError, match="does not belong"), transaction.atomic():
        Neuron.objects.create(study=study, label_set=foreign, layer="l", unit=0, label="x")


def test_a_blank_label_set_name_is_refused(study):
    refused(lambda: do_import_labels(study, CLIP, label_set="  "), "label set's name")
