"""One neuron's activations read back without loading the layer, equal to the column."""

import numpy as np
import pytest
import torch

from annotate.activations import read_neuron_activations
from annotate.importers.activations import do_import_activations
from annotate.models import LayerActivations, Neuron
from evaluation.activations import read_unit, read_unit_from
from tests.probe_sets.helpers import make_probe_set, make_study

pytestmark = pytest.mark.django_db


def test_read_unit_equals_the_column(tmp_path):
    make_probe_set(tmp_path, 5)
    study = make_study()
    acts = torch.randn(5, 300)
    torch.save(acts, tmp_path / "acts.pt")
    do_import_activations(study, "probe", "layer4", tmp_path / "acts.pt")
    row = LayerActivations.objects.get()
    stored = np.load(row.file.path, mmap_mode="r")
    assert stored.shape == (300, 5) and stored.flags.c_contiguous
    for unit in (0, 7, 299):
        assert np.array_equal(row.read_unit(unit), acts[:, unit].numpy())
        assert np.array_equal(read_unit(row.file.path, unit), acts[:, unit].numpy())
        with open(row.file.path, "rb") as handle:
            assert np.array_equal(read_unit_from(handle, unit), acts[:, unit].numpy())
    neuron = Neuron.objects.get(study=study, layer="layer4", unit=42)
    assert np.array_equal(read_neuron_activations(neuron), acts[:, 42].numpy())
    with pytest.raises(ValueError, match="units 0..299"):
        row.read_unit(300)
    assert row.file.name == f"activations/{row.sha256[:2]}/{row.sha256}.npy"
