"""export_labels / export_images print what import_labels / import_images read back."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import Neuron, NeuronImage, Study
from tests.helpers import CLIP, MILAN, images_zip


@pytest.fixture
def study(db):
    study = Study.objects.create(name="a", target_network="n", probe_dataset="p", k=2)
    do_import_labels(study, CLIP)
    do_import_labels(study, MILAN, label_set="MILAN base")
    do_import_images(study, *images_zip())
    return study


def printed(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_exports_print_the_documented_columns(study):
    labels = printed("export_labels", "--study", "a").splitlines()
    assert labels[0] == "label_set,layer,unit,label,score"
    assert "CLIP-Dissect,layer1,0,red,0.3" in labels and "MILAN base,layer1,1,sky," in labels
    images = printed("export_images", "--study", "a").splitlines()
    assert images[0] == "layer,unit,rank,sha256,activation"
    assert len(images) == 1 + 4  # each unit's images once, not once per label set


def test_round_trip_through_import_and_export_is_exact(study, tmp_path):
    labels, images = tmp_path / "labels.csv", tmp_path / "images.csv"
    labels.write_text(printed("export_labels", "--study", "a"))
    images.write_text(printed("export_images", "--study", "a"))
    copy = Study.objects.create(name="b", target_network="n", probe_dataset="p", k=2)
    call_command("import_labels", str(labels), "--study", "b")
    call_command("import_images", str(images), "--study", "b")
    assert printed("export_labels", "--study", "b") == labels.read_text()
    assert printed("export_images", "--study", "b") == images.read_text()

    def pairs(s):
        return set(
            NeuronImage.objects.filter(neuron__study=s).values_list(
                "neuron__label_set__name", "neuron__unit", "rank", "image_id", "activation"
            )
        )

    assert pairs(copy) == pairs(study) and len(pairs(copy)) == 8
    assert Neuron.objects.filter(study=copy).count() == 4
