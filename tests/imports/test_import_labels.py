import os
import time

import pytest

from annotate.importers.labels import do_import_labels
from annotate.models import Neuron, Study
from tests.helpers import RESULTS, refused, snapshot

pytestmark = pytest.mark.django_db


needs_shared = pytest.mark.skipif(not os.path.isdir(RESULTS), reason="shared data absent")


@pytest.fixture
def study():
    return Study.objects.create(name="s", target_network="resnet50", probe_dataset="broden")


CLIP = (
    b"layer,unit,description,similarity\n"
    b"conv1,0,red,0.25\nconv1,1,snorkeling,0.2\nlayer1,0,dog,0.1\n"
)


def test_clip_dissect_format_detected_with_scores_and_layers(study):
    report = do_import_labels(study, CLIP)
    assert (report.format, report.created, report.unchanged) == ("clip_dissect", 3, 0)
    assert list(
        study.neurons.order_by("layer", "unit").values_list(
            "layer", "unit", "label", "method_score"
        )
    ) == [
        ("conv1", 0, "red", 0.25),
        ("conv1", 1, "snorkeling", 0.2),
        ("layer1", 0, "dog", 0.1),
    ]
    study.refresh_from_db()
    assert study.layers == ["conv1", "layer1"]


def test_milan_format_detected_without_scores(study):
    report = do_import_labels(
        study, b'layer,unit,description\nconv1,0,"Black lettering, numbers"\n'
    )
    assert report.format == "milan"
    assert study.neurons.get().label == "Black lettering, numbers"
    assert study.neurons.get().method_score is None


def test_jsonl_labels(study):
    data = b'{"layer": "conv1", "unit": 3, "description": "red", "similarity": 0.3}\n'
    assert do_import_labels(study, data).created == 1


def test_changed_label_updates_in_place(study):
    do_import_labels(study, CLIP)
    report = do_import_labels(study, CLIP.replace(b"dog", b"cat"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert study.neurons.get(layer="layer1", unit=0).label == "cat"


def test_changed_label_refused_once_judged(make_study):
    from evaluation.models import Judgment, Rater

    study = make_study(neurons=1, k=1, labels=["dog"])
    rater = Rater.objects.create(name="r", kind="openclip_es", params={})
    Judgment.objects.create(
        rater=rater, neuron_image=study.neurons.get().images.get(), verdict="yes"
    )
    refused(
        lambda: do_import_labels(study, b"layer,unit,description\nlayer1,0,cat\n"),
        "line 2",
        "already has judgments",
    )


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"layer,unit,label\nconv1,0,red\n", ["line 1", "missing column description"]),
        (
            b"layer,unit,description\nconv1,x,red\nconv1,-1,red\n",
            ["line 2", "whole number", "line 3", "between 0"],
        ),
        (
            b"layer,unit,description\nconv1,0,red\nconv1,0,blue\n",
            ["line 3", "conv1:0 is already on line 2"],
        ),
        (
            b"layer,unit,description,similarity\nconv1,0,red,high\n",
            ["line 2", "similarity must be a number"],
        ),
        (b"layer,unit,description\nconv1,0,red,extra\n", ["line 2", "expected 3 fields, found 4"]),
        (b'layer,unit,description\nconv1,0,"red\n', ["malformed CSV"]),
        (b"layer,unit,description\nconv1,0,\n", ["line 2", "description is empty"]),
        (b"layer,unit,description\n", ["no neurons"]),
        (b"", ["empty"]),
        ("layer,unit,description\nconv1,0,caf\xe9\n".encode("latin-1"), ["line 2", "not UTF-8"]),
        (b"layer,unit,description\nconv1,0,red\x00\n", ["NUL"]),
    ],
)
def test_bad_label_files_refused_and_nothing_changes(study, data, expected):
    do_import_labels(study, b"layer,unit,description\nconv1,9,kept\n")
    refused(lambda: do_import_labels(study, data), "labels.csv", *expected)


def test_several_problems_reported_at_once_with_a_cap(study):
    rows = "".join(f"conv1,{i},\n" for i in range(80))
    failure = refused(lambda: do_import_labels(study, f"layer,unit,description\n{rows}".encode()))
    assert len(failure.problems) == 50 and failure.more == 30
    assert "and 30 more problems" in failure.text()


def test_file_over_the_size_cap_refused(study, settings, tmp_path):
    settings.NEURONJUDGE_MAX_IMPORT_FILE_BYTES = 20
    path = tmp_path / "big.csv"
    path.write_bytes(CLIP)
    refused(lambda: do_import_labels(study, path), "big.csv", "over the 20-byte limit")


@needs_shared
def test_real_clip_dissect_file_imports_fast_and_twice_changes_nothing(study):
    path = f"{RESULTS}/clip_dissect_resnet50_imagenet_broden.csv"
    started = time.monotonic()
    report = do_import_labels(study, path)
    assert time.monotonic() - started < 30  # "well under a minute"; about 1 s here
    assert (report.format, report.created) == ("clip_dissect", 3904)
    assert Neuron.objects.filter(study=study).count() == 3904
    study.refresh_from_db()
    assert study.layers == ["conv1", "layer1", "layer2", "layer3", "layer4"]
    before = snapshot()
    again = do_import_labels(study, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3904)
    assert snapshot() == before


@needs_shared
def test_real_milan_file_imports(study):
    path = f"{RESULTS}/milan_base_resnet50_imagenet.csv"
    report = do_import_labels(study, path)
    assert (report.format, report.created) == ("milan", 4904)  # conv1..layer4 plus fc's 1,000
    assert do_import_labels(study, path).unchanged == 4904
    assert study.neurons.get(layer="conv1", unit=0).label == "Black lettering and numbers"
