"""MILAN exemplars (ids.csv + activations.csv per layer) as neurons' top-k images."""

from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotate.importers.exemplars import do_import_exemplars
from annotate.importers.labels import do_import_labels
from annotate.models import Neuron, Study
from tests.helpers import refused, snapshot
from tests.probe_sets.helpers import make_probe_set, make_study, top_images

pytestmark = pytest.mark.django_db


def exemplars_folder(root: Path, ids: np.ndarray, acts: np.ndarray, layer="layer4") -> Path:
    """A layer's folder as MILAN writes it: numpy.savetxt with ',' ('%i' ids, '%.5e'
    activations), no header; images.npy and masks.npy beside them."""
    folder = root / "results" / "exemplars" / "resnet18" / "imagenet" / layer
    folder.mkdir(parents=True)
    np.savetxt(folder / "ids.csv", ids, delimiter=",", fmt="%i")
    np.savetxt(folder / "activations.csv", acts, delimiter=",", fmt="%.5e")
    units, k = ids.shape
    np.save(folder / "images.npy", np.zeros((units, k, 3, 4, 4), dtype=np.float32))
    np.save(folder / "masks.npy", np.zeros((units, k, 1, 4, 4), dtype=bool))
    return folder


IDS = np.array([[4, 0, 7, 2, 9], [1, 3, 5, 6, 8]])
ACTS = np.array([[9.5, 8.25, 7.0, 1.0, 0.5], [3.0, 2.5, 2.0, 1.5, 1.0]])


@pytest.fixture
def study(tmp_path):
    make_probe_set(tmp_path, 10)
    return make_study(k=3)


def test_first_k_ids_become_each_units_top_images(tmp_path, study):
    folder = exemplars_folder(tmp_path, IDS, ACTS)
    report = do_import_exemplars(study, folder, "probe")
    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert top_images(study, "layer4", 0) == [(4, 9.5), (0, 8.25), (7, 7.0)]
    assert top_images(study, "layer4", 1) == [(1, 3.0), (3, 2.5), (5, 2.0)]
    study.refresh_from_db()
    assert study.layers == ["layer4"] and study.probe_set.name == "probe"
    assert list(Neuron.objects.values_list("label", flat=True)) == ["", ""]  # labels come later


def test_labelled_neurons_of_every_label_set_get_the_images(tmp_path, study):
    for name in ("MILAN base", "MILAN all"):
        do_import_labels(
            study, b"layer,unit,description\nlayer4,0,dogs\nlayer4,1,sky\n", label_set=name
        )
    do_import_exemplars(study, exemplars_folder(tmp_path, IDS, ACTS), "probe")
    for neuron in Neuron.objects.filter(study=study):
        assert neuron.images.count() == 3 and neuron.label in ("dogs", "sky")
    assert Neuron.objects.count() == 4


def test_same_folder_twice_changes_nothing(tmp_path, study):
    folder = exemplars_folder(tmp_path, IDS, ACTS)
    do_import_exemplars(study, folder, "probe")
    before = snapshot()
    report = do_import_exemplars(study, folder, "probe")
    assert snapshot() == before and (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_new_exemplars_replace_the_old_ones(tmp_path, study):
    do_import_exemplars(study, exemplars_folder(tmp_path / "a", IDS, ACTS), "probe")
    report = do_import_exemplars(study, exemplars_folder(tmp_path / "b", IDS[::-1], ACTS), "probe")
    assert (report.updated, report.unchanged) == (2, 0)
    assert top_images(study, "layer4", 0) == [(1, 9.5), (3, 8.25), (5, 7.0)]


def test_units_npy_names_the_unit_of_each_row(tmp_path, study):
    folder = exemplars_folder(tmp_path, IDS, ACTS)
    np.save(folder / "units.npy", np.array([3, 10]))
    do_import_exemplars(study, folder, "probe", layer="conv5")
    assert sorted(Neuron.objects.values_list("layer", "unit")) == [("conv5", 3), ("conv5", 10)]
    assert top_images(study, "conv5", 10)[0] == (1, 3.0)


def test_fewer_columns_than_k_is_refused(tmp_path, study):
    folder = exemplars_folder(tmp_path, IDS[:, :2], ACTS[:, :2])
    refused(
        lambda: do_import_exemplars(study, folder, "probe"),
        "ids.csv, line 1: has 2 values, fewer than the study's k = 3",
        "ids.csv, line 2:",
    )


def test_id_outside_the_probe_set_is_refused(tmp_path, study):
    ids = IDS.copy()
    ids[1, 2] = 10
    refused(
        lambda: do_import_exemplars(study, exemplars_folder(tmp_path, ids, ACTS), "probe"),
        "ids.csv, line 2: column 3: id 10 is not in probe set 'probe' (ids 0..9)",
    )


def test_a_header_or_bad_number_is_refused_by_line(tmp_path, study):
    folder = exemplars_folder(tmp_path, IDS, ACTS)
    (folder / "ids.csv").write_text("0,1,2,3,4\n" + (folder / "ids.csv").read_text())
    text = (folder / "activations.csv").read_text().splitlines()
    (folder / "activations.csv").write_text(f"{text[0]}\nnan,1,2,3,4\n")
    refused(lambda: do_import_exemplars(study, folder, "probe"), "activations.csv, line 2: 'nan'")
    (folder / "activations.csv").write_text("\n".join(text) + "\n")
    refused(lambda: do_import_exemplars(study, folder, "probe"), "has 2 rows but ids.csv has 3")
    (folder / "ids.csv").write_text("a,b,c,d,e\n" + "\n".join(["1,2,3,4,5"]))
    refused(
        lambda: do_import_exemplars(study, folder, "probe"),
        "ids.csv, line 1: 'a' is not a whole number (an image id)",
    )


def test_the_same_picture_twice_is_refused(tmp_path, study):
    ids = IDS.copy()
    ids[0, 1] = 4
    refused(
        lambda: do_import_exemplars(study, exemplars_folder(tmp_path, ids, ACTS), "probe"),
        "ids.csv, line 1: column 2: id 4 shows an image given twice",
    )


def test_another_probe_set_or_a_missing_file_is_refused(tmp_path, study):
    folder = exemplars_folder(tmp_path, IDS, ACTS)
    refused(lambda: do_import_exemplars(study, folder, "broden"), "no probe set called 'broden'")
    Study.objects.filter(pk=study.pk).update(probe_set=make_probe_set(tmp_path, 10, "other"))
    study.refresh_from_db()
    refused(lambda: do_import_exemplars(study, folder, "probe"), "is on probe set 'other'")
    (folder / "activations.csv").unlink()
    refused(lambda: do_import_exemplars(study, folder, "other"), "no activations.csv")


def test_command(tmp_path, study, capsys):
    folder = exemplars_folder(tmp_path, IDS, ACTS)
    call_command("import_exemplars", str(folder), study="S", probe_set="probe")
    assert "layer layer4: ids.csv: 2 unit rows read; 2 created" in capsys.readouterr().out
    bad = exemplars_folder(tmp_path / "bad", IDS[:, :1], ACTS[:, :1], layer="layer3")
    with pytest.raises(CommandError, match="ids.csv, line 1: has 1 values, fewer than"):
        call_command("import_exemplars", str(bad), study="S", probe_set="probe")
