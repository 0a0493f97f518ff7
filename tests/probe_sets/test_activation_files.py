"""Which activation files are read: CLIP-Dissect's .pt tensor, LE's fp16 .pt, a .npy; and
what is refused with file and reason, changing nothing."""

import os
import pickle

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command

from annotate.importers.activations import do_import_activations
from annotate.models import LayerActivations, Neuron
from tests.helpers import refused
from tests.probe_sets.helpers import make_probe_set, make_study, media_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(tmp_path):
    make_probe_set(tmp_path, 6)
    return make_study(k=2)


def test_clip_dissect_pt_accepted(tmp_path, study):
    path = tmp_path / "broden_resnet50_layer4.pt"
    torch.save(torch.rand(6, 4), path)
    report = do_import_activations(study, "probe", "layer4", path)
    row = LayerActivations.objects.get()
    assert (row.dtype, row.n_units, row.n_images, row.source) == ("float32", 4, 6, path.name)
    assert report.created == 4 and Neuron.objects.filter(layer="layer4", label="").count() == 4


def test_fp16_accepted_and_kept_fp16(tmp_path, study):
    acts = torch.rand(6, 3).half()
    torch.save(acts, tmp_path / "all_avg.pt")
    do_import_activations(study, "probe", "fc", tmp_path / "all_avg.pt")
    row = LayerActivations.objects.get()
    assert row.dtype == "float16"
    assert np.array_equal(row.read_unit(2), acts[:, 2].numpy())


def test_npy_accepted(tmp_path, study):
    acts = np.random.default_rng(0).random((6, 5), dtype=np.float32)
    np.save(tmp_path / "acts.npy", acts)
    do_import_activations(study, "probe", "layer3", tmp_path / "acts.npy")
    assert LayerActivations.objects.get().n_units == 5


def test_legacy_torch_format_read_without_mmap(tmp_path, study):
    acts = torch.rand(6, 2)
    torch.save(acts, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    do_import_activations(study, "probe", "layer4", tmp_path / "old.pt")
    assert np.array_equal(LayerActivations.objects.get().read_unit(1), acts[:, 1].numpy())


def test_not_a_torch_file_refused(tmp_path, study):
    (tmp_path / "acts.pt").write_bytes(b"PK\x03\x04 truncated zip")
    refused(
        lambda: do_import_activations(study, "probe", "l", tmp_path / "acts.pt"),
        "acts.pt: not a file written by torch.save",
    )


def test_row_count_mismatch_refused(tmp_path, study, settings):
    torch.save(torch.rand(7, 4), tmp_path / "acts.pt")
    refused(
        lambda: do_import_activations(study, "probe", "layer4", tmp_path / "acts.pt"),
        "acts.pt: has 7 rows but probe set 'probe' has 6 images",
    )
    assert not any(name.startswith("activations") for name in media_files(settings))


@pytest.mark.parametrize(
    "value, reason",
    [
        ({"layer4": torch.rand(6, 4)}, "holds a dict, not a tensor"),
        ([torch.rand(6, 4)], "holds a list, not a tensor"),
        (torch.rand(6, 4, 2), "holds an array of shape (6, 4, 2)"),
        (torch.ones(6, 4, dtype=torch.int64), "holds a torch.int64 tensor"),
        (torch.tensor([[float("nan")] * 2] * 6), "unit 0 has NaN or infinite activations"),
    ],
)
def test_other_contents_refused(tmp_path, study, settings, value, reason):
    torch.save(value, tmp_path / "acts.pt")
    refused(lambda: do_import_activations(study, "probe", "l", tmp_path / "acts.pt"), reason)
    assert media_files(settings) == [f for f in media_files(settings) if "activations" not in f]


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_malicious_pickle_refused_unloaded(tmp_path, study, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"acts": torch.rand(6, 2), "x": Exploit()}, tmp_path / "evil.pt")
    refused(
        lambda: do_import_activations(study, "probe", "l", tmp_path / "evil.pt"),
        "evil.pt: refused: it holds Python objects that are not tensors",
    )
    assert not (tmp_path / "pwned").exists()
    with open(tmp_path / "evil.npy", "wb") as handle:
        np.save(handle, np.array([Exploit()], dtype=object), allow_pickle=True)
    refused(
        lambda: do_import_activations(study, "probe", "l", tmp_path / "evil.npy"),
        "evil.npy: holds Python objects, refused",
    )
    (tmp_path / "raw.pt").write_bytes(pickle.dumps(Exploit()))
    refused(lambda: do_import_activations(study, "probe", "l", tmp_path / "raw.pt"), "raw.pt")
    assert not (tmp_path / "pwned").exists()


def test_command_refusal_names_file_and_reason(tmp_path, study):
    torch.save({"a": torch.rand(6, 2)}, tmp_path / "acts.pt")
    args = ["--study", "S", "--probe-set", "probe", "--layer", "layer4"]
    with pytest.raises(CommandError, match="nothing was changed:\nacts.pt: holds a dict"):
        call_command("import_activations", str(tmp_path / "acts.pt"), *args)
    with pytest.raises(CommandError, match="no probe set called 'other'"):
        call_command("import_activations", str(tmp_path / "acts.pt"), *args[:2], "--probe-set",
                     "other", "--layer", "l")  # fmt: skip
