"""Every label format the dissection tools write, from files generated in their exact shape."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotate.importers.labels import do_import_labels
from annotate.models import Neuron, Study
from tests.helpers import refused

CATEGORIES = ["color", "object", "part", "material", "scene", "texture"]


def netdissect_tally(units: list[tuple[int, str, str, float]]) -> bytes:
    """NetDissect-Lite's tally.csv: 1-based units, rows sorted by score, best first, then
    five columns per category."""
    header = ["unit", "category", "label", "score"]
    for cat in CATEGORIES:
        header += [f"{cat}-label", f"{cat}-truth", f"{cat}-activation", f"{cat}-intersect",
                   f"{cat}-iou"]  # fmt: skip
    lines = [",".join(header)]
    for unit, category, label, score in sorted(units, key=lambda u: -u[3]):
        row = [str(unit + 1), category, label, f"{score:.6f}"]
        for cat in CATEGORIES:
            row += [label if cat == category else "x", "120", "98", "40", f"{score:.4f}"]
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def study(db):
    return Study.objects.create(name="s", target_network="resnet50", probe_dataset="broden")


def labels_of(study) -> dict:
    return {
        (n.layer, n.unit): (n.label, n.method_score, n.score_name, n.category, n.alternatives)
        for n in Neuron.objects.filter(study=study)
    }


def test_netdissect_tally_units_become_zero_based_and_score_is_an_iou(study):
    data = netdissect_tally([(0, "object", "dog", 0.08), (5, "texture", "striped", 0.21)])
    report = do_import_labels(study, data, layer="layer4")
    assert report.format == "netdissect" and report.created == 2
    assert labels_of(study) == {
        ("layer4", 0): ("dog", 0.08, "iou", "object", []),
        ("layer4", 5): ("striped", 0.21, "iou", "texture", []),
    }


def test_netdissect_tally_needs_a_layer_and_one_based_units(study):
    data = netdissect_tally([(0, "object", "dog", 0.08)])
    refused(lambda: do_import_labels(study, data), "labels.csv",
            "does not name the layer: give --layer")  # fmt: skip
    zero = data.replace(b"\n1,object", b"\n0,object")
    refused(lambda: do_import_labels(study, zero, layer="layer4"), "line 2",
            "unit 0: this format numbers units from 1")  # fmt: skip


def test_dissect_report_json_keeps_category_and_iou(study):
    report = {
        "units": [
            {"unit": 0, "label": "sky", "cat": "object", "iou": 0.12, "image": "image/unit0.jpg"},
            {"unit": 3, "label": "grass", "cat": "material", "iou": 0.05,
             "image": "image/unit3.jpg"},
        ]
    }  # fmt: skip
    data = json.dumps(report, indent=2).encode()
    outcome = do_import_labels(study, data, layer="layer3")
    assert outcome.format == "dissect"
    assert labels_of(study) == {
        ("layer3", 0): ("sky", 0.12, "iou", "object", []),
        ("layer3", 3): ("grass", 0.05, "iou", "material", []),
    }


def test_describe_and_dissect_final_results_keeps_alternatives(study):
    data = b"Neuron ID,Label 1,Label 2,Label 3\n0,dogs,puppies,fur\n7,stripes,zebra,\n"
    outcome = do_import_labels(study, data, layer="layer4")
    assert outcome.format == "dnd"
    assert labels_of(study) == {
        ("layer4", 0): ("dogs", None, "", "", ["puppies", "fur"]),
        ("layer4", 7): ("stripes", None, "", "", ["zebra"]),
    }


def test_clip_dissect_keeps_similarity_by_name(study):
    do_import_labels(study, b"layer,unit,description,similarity\nlayer1,0,red,0.25\n")
    assert labels_of(study) == {("layer1", 0): ("red", 0.25, "similarity", "", [])}


def test_a_layer_given_for_a_file_that_names_its_layers_is_refused(study):
    data = b"layer,unit,description\nlayer1,0,red\n"
    refused(lambda: do_import_labels(study, data, layer="layer2"), "leave out --layer")


def test_unknown_format_is_named_as_such(study):
    data = b"neuron,concept\n1,dog\n"
    refused(lambda: do_import_labels(study, data), "unknown label format", "neuron, concept")


def test_clip_dissect_results_folder_fills_the_study(tmp_path, db):
    from annotate.importers.concepts import do_import_concept_set

    do_import_concept_set("20k", b"dog\ncat\nred\n")
    folder = tmp_path / "resnet50_24_01_31_12_00"
    folder.mkdir()
    (folder / "descriptions.csv").write_text(
        "layer,unit,description,similarity\nlayer4,0,dog,0.31\nlayer4,1,cat,0.29\n"
    )
    settings = {
        "clip_model": "ViT-B/16",
        "target_model": "resnet50",
        "target_layers": "layer4",
        "d_probe": "broden",
        "concept_set": "data/concept_sets/20k.txt",
        "pool_mode": "avg",
        "similarity_fn": "soft_wpmi",
    }
    (folder / "args.txt").write_text(json.dumps(settings))
    call_command("import_labels", str(folder), "--study", "from folder")
    study = Study.objects.get(name="from folder")
    assert (study.target_network, study.probe_dataset, study.concept_set.name) == (
        "resnet50",
        "broden",
        "20k",
    )
    label_set = study.label_sets.get()
    assert label_set.settings["pool_mode"] == "avg"
    assert labels_of(study)[("layer4", 0)] == ("dog", 0.31, "similarity", "", [])


def test_command_takes_format_and_layer(tmp_path, study):
    path = tmp_path / "tally.csv"
    path.write_bytes(netdissect_tally([(2, "color", "red", 0.3)]))
    call_command(
        "import_labels", str(path), "--study", "s", "--format", "netdissect", "--layer", "layer2"
    )
    assert labels_of(study) == {("layer2", 2): ("red", 0.3, "iou", "color", [])}
    with pytest.raises(CommandError, match="give --layer"):
        call_command("import_labels", str(path), "--study", "s", "--format", "netdissect")
