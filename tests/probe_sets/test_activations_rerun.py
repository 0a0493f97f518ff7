"""Importing activations again keeps the same rows; new activations replace the old ones
unless judgments rest on them."""

import pytest
import torch

from annotate.importers.activations import do_import_activations
from annotate.models import LayerActivations, Neuron, NeuronImage
from evaluation.models import Judgment, Rater
from tests.helpers import refused, snapshot
from tests.probe_sets.helpers import make_probe_set, make_study, media_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(tmp_path):
    make_probe_set(tmp_path, 6)
    return make_study(k=2)


def test_same_file_twice_doubles_nothing(tmp_path, study, settings):
    torch.save(torch.rand(6, 4), tmp_path / "acts.pt")
    do_import_activations(study, "probe", "layer4", tmp_path / "acts.pt")
    before, files = snapshot(), media_files(settings)
    report = do_import_activations(study, "probe", "layer4", tmp_path / "acts.pt")
    assert snapshot() == before and media_files(settings) == files
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
    assert "activations unchanged" in report.summary()
    study.refresh_from_db()
    assert study.layers == ["layer4"] and study.probe_set.name == "probe"


def test_new_activations_replace_top_images_and_file(
    tmp_path, study, settings, django_capture_on_commit_callbacks
):
    Neuron.objects.create(study=study, layer="layer4", unit=1, label="dog")
    torch.save(torch.rand(6, 4), tmp_path / "a.pt")
    do_import_activations(study, "probe", "layer4", tmp_path / "a.pt")
    old = LayerActivations.objects.get().file.name
    acts = torch.rand(6, 4)
    torch.save(acts, tmp_path / "b.pt")
    with django_capture_on_commit_callbacks(execute=True):
        report = do_import_activations(study, "probe", "layer4", tmp_path / "b.pt")
    assert report.created == 0 and NeuronImage.objects.count() == 8
    assert Neuron.objects.get(unit=1).label == "dog"  # an existing neuron keeps its label
    row = LayerActivations.objects.get()
    assert row.source == "b.pt" and old not in media_files(settings)
    best = Neuron.objects.get(unit=2).images.get(rank=1).activation
    assert best == pytest.approx(float(acts[:, 2].max()))


def test_judged_images_are_not_replaced(tmp_path, study):
    torch.save(torch.rand(6, 2), tmp_path / "a.pt")
    do_import_activations(study, "probe", "layer4", tmp_path / "a.pt")
    rater = Rater.objects.create(name="clip", kind=Rater.Kind.OPENCLIP_CP)
    Judgment.objects.create(rater=rater, neuron_image=NeuronImage.objects.first(), verdict="yes")
    torch.save(torch.rand(6, 2) + 2, tmp_path / "b.pt")
    refused(
        lambda: do_import_activations(study, "probe", "layer4", tmp_path / "b.pt"),
        "b.pt: unit 0 has judgments or gold answers on the top images",
    )


def test_other_probe_set_refused(tmp_path, study):
    make_probe_set(tmp_path, 6, name="other")
    torch.save(torch.rand(6, 2), tmp_path / "a.pt")
    do_import_activations(study, "probe", "layer4", tmp_path / "a.pt")
    refused(
        lambda: do_import_activations(study, "other", "layer3", tmp_path / "a.pt"),
        "study 'S' is on probe set 'probe', not 'other'",
    )
