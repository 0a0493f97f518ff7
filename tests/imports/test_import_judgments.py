"""Judgments made elsewhere come in as ordinary judgments, once, or not at all."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import Study
from evaluation.importers.judgments import do_import_judgments
from evaluation.models import Judgment, Rater
from tests.helpers import CLIP, MILAN, images_zip, refused

MTURK = b"""rater,layer,unit,rank,verdict
A1B2C3,layer1,0,1,yes
A1B2C3,layer1,0,2,no
Z9Y8X7,layer1,0,1,yes
Z9Y8X7,layer1,1,2,skip
"""


@pytest.fixture
def study(db):
    study = Study.objects.create(name="s", target_network="n", probe_dataset="p", k=2)
    do_import_labels(study, CLIP)
    do_import_labels(study, MILAN, label_set="MILAN base")
    do_import_images(study, *images_zip())
    return study


def stored() -> set:
    return set(
        Judgment.objects.values_list(
            "rater__name", "rater__kind", "neuron_image__neuron__label_set__name",
            "neuron_image__neuron__unit", "neuron_image__rank", "verdict", "score",
        )
    )  # fmt: skip


def test_human_judgments_become_human_raters_of_the_study(study):
    report = do_import_judgments(study, MTURK)
    assert (report.created, report.unchanged) == (4, 0)
    prefix = f"human:imported-{study.pk}-"
    assert stored() == {
        (prefix + "A1B2C3", "human", "CLIP-Dissect", 0, 1, "yes", None),
        (prefix + "A1B2C3", "human", "CLIP-Dissect", 0, 2, "no", None),
        (prefix + "Z9Y8X7", "human", "CLIP-Dissect", 0, 1, "yes", None),
        (prefix + "Z9Y8X7", "human", "CLIP-Dissect", 1, 2, "skip", None),
    }
    imported = Rater.objects.get(name=prefix + "A1B2C3").user
    assert not imported.is_active and not imported.has_usable_password()


def test_the_same_file_twice_changes_nothing(study):
    do_import_judgments(study, MTURK)
    before = stored()
    again = do_import_judgments(study, MTURK)
    assert (again.created, again.unchanged) == (0, 4)
    assert stored() == before and Judgment.objects.count() == 4


def test_a_changed_verdict_is_refused_by_line_and_nothing_changes(study):
    do_import_judgments(study, MTURK)
    changed = MTURK.replace(b"A1B2C3,layer1,0,2,no", b"A1B2C3,layer1,0,2,yes") + (
        b"NEWONE,layer1,1,1,yes\n"
    )
    before = stored()
    refused(lambda: do_import_judgments(study, changed), "line 3", "already has 'no'")
    assert stored() == before


def test_two_verdicts_for_one_pair_in_one_file_are_refused(study):
    twice = MTURK + b"A1B2C3,layer1,0,1,no\n"
    refused(lambda: do_import_judgments(study, twice), "line 6", "'yes' on line 2 and 'no' here")
    assert not Judgment.objects.exists()


def test_unknown_pairs_and_bad_verdicts_are_listed_together(study):
    bad = b"rater,layer,unit,rank,verdict\nA,layer1,9,1,yes\nA,layer1,0,1,maybe\n"
    refused(lambda: do_import_judgments(study, bad), "line 3", "verdict must be one of")
    bad = b"rater,layer,unit,rank,verdict,label_set\nA,layer1,0,1,yes,nope\n"
    refused(lambda: do_import_judgments(study, bad), "line 2", "in label set 'nope'")


def test_model_judgments_with_label_sets_and_provenance(study, tmp_path):
    path = tmp_path / "blip.csv"
    path.write_text(
        "rater,layer,unit,rank,verdict,score,label_set\n"
        "blip2-flan,layer1,0,1,yes,0.91,MILAN base\n"
        "blip2-flan,layer1,0,1,no,0.12,CLIP-Dissect\n"
    )
    call_command(
        "import_judgments", str(path), "--study", "s", "--rater-kind", "vqa_blip2",
        "--notes", "run on the lab's A100, 2026-10",
    )  # fmt: skip
    rater = Rater.objects.get(kind="vqa_blip2")
    assert rater.params["notes"] == "run on the lab's A100, 2026-10"
    assert {(r[2], r[5], r[6]) for r in stored()} == {
        ("MILAN base", "yes", 0.91),
        ("CLIP-Dissect", "no", 0.12),
    }
    with pytest.raises(CommandError, match="rater kind 'magic'"):
        call_command("import_judgments", str(path), "--study", "s", "--rater-kind", "magic")
