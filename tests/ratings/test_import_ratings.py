"""Neuron-level ratings and best-of choices from a file, told apart from per-image
judgments by the header; once, or not at all."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from annotate.importers.labels import do_import_labels
from annotate.models import Study
from evaluation.importers.formats import do_import_judgment_file
from evaluation.models import LabelJudgment
from tests.helpers import refused

pytestmark = pytest.mark.django_db

RATINGS = b"""rater,layer,unit,label_set,rating,uninterpretable,none_fits
ann1,layer1,0,CLIP-Dissect,4,FALSE,FALSE
ann1,layer1,0,MILAN base,2,false,true
ann2,layer1,0,,5,,
ann2,layer1,1,MILAN base,,TRUE,FALSE
"""
CHOICES = b"""rater,layer,unit,chosen,none_fits
ann1,layer1,0,MILAN base,
ann1,layer1,1,,TRUE
ann2,layer1,0,CLIP-Dissect,FALSE
"""


@pytest.fixture
def study(db):
    study = Study.objects.create(name="s", target_network="n", probe_dataset="p")
    do_import_labels(study, b"layer,unit,description\nlayer1,0,dog\nlayer1,1,cat\n")
    do_import_labels(
        study, b"layer,unit,description\nlayer1,0,dogs\nlayer1,1,cats\n", label_set="MILAN base"
    )
    return study


def stored() -> set:
    return set(
        LabelJudgment.objects.values_list(
            "rater__name", "question", "neuron__label_set__name", "layer", "unit", "rating",
            "uninterpretable", "none_fits", "chosen__label_set__name",
        )
    )  # fmt: skip


def test_ratings_with_flags_go_to_their_labels(study):
    report = do_import_judgment_file(study, RATINGS)
    assert (report.format, report.created, report.unchanged) == ("ratings", 4, 0)
    p = f"human:imported-{study.pk}-"
    assert stored() == {
        (p + "ann1", "label_rating", "CLIP-Dissect", "layer1", 0, 4, False, False, None),
        (p + "ann1", "label_rating", "MILAN base", "layer1", 0, 2, False, True, None),
        (p + "ann2", "label_rating", "CLIP-Dissect", "layer1", 0, 5, False, False, None),
        (p + "ann2", "label_rating", "MILAN base", "layer1", 1, None, True, False, None),
    }


def test_json_lines_read_the_same(study):
    lines = [
        {"rater": "ann1", "layer": "layer1", "unit": 1, "label_set": "MILAN base", "rating": 3},
        {"rater": "ann1", "layer": "layer1", "unit": 0, "label_set": None, "rating": 1},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    do_import_judgment_file(study, data)
    assert {(r[2], r[4], r[5]) for r in stored()} == {("MILAN base", 1, 3), ("CLIP-Dissect", 0, 1)}


def test_the_same_ratings_twice_change_nothing_and_a_changed_one_is_refused(study):
    do_import_judgment_file(study, RATINGS)
    before = stored()
    again = do_import_judgment_file(study, RATINGS)
    assert (again.created, again.unchanged) == (0, 4)
    changed = RATINGS.replace(b"ann1,layer1,0,MILAN base,2,", b"ann1,layer1,0,MILAN base,3,")
    refused(
        lambda: do_import_judgment_file(study, changed + b"new,layer1,1,,2,,\n"),
        "line 3: ann1 already has (rating=2, none_fits) for layer1:0 in label set 'MILAN base'",
    )
    assert stored() == before


def test_bad_rows_are_listed_by_line(study):
    bad = (
        b"rater,layer,unit,label_set,rating\n"
        b"a,layer1,0,CLIP-Dissect,6\n"
        b"a,layer1,0,CLIP-Dissect,2.5\n"
        b"a,layer1,0,,\n"
        b"a,layer1,0,nope,3\n"
        b"b,layer1,1,,3\n"
        b"b,layer1,1,CLIP-Dissect,3\n"
        b"b,layer1,1,,4\n"
    )
    refused(
        lambda: do_import_judgment_file(study, bad),
        "line 2: rating must be a whole number 1 to 5, not '6'",
        "line 3: rating must be a whole number 1 to 5, not '2.5'",
        "line 4: rating is blank",
        "line 8: b judged layer1:1 (rating=3) on line 6 and (rating=4) here",
    )
    unknown = b"rater,layer,unit,label_set,rating\na,layer1,0,nope,3\na,layer9,0,,3\n"
    refused(
        lambda: do_import_judgment_file(study, unknown),
        "line 2: no neuron layer1:0 in label set 'nope'",
        "line 3: no neuron layer9:0",
    )


def test_the_first_label_set_named_or_left_blank_is_one_label(study):
    twice = b"rater,layer,unit,label_set,rating\nb,layer1,1,,3\nb,layer1,1,CLIP-Dissect,4\n"
    refused(
        lambda: do_import_judgment_file(study, twice),
        "line 3: b judged layer1:1 in label set 'CLIP-Dissect' differently on line 2",
    )
    same = do_import_judgment_file(study, twice.replace(b",4\n", b",3\n"))
    assert (same.created, same.unchanged, LabelJudgment.objects.count()) == (1, 1, 1)


def test_best_of_choices_name_a_label_set_or_none(study):
    report = do_import_judgment_file(study, CHOICES)
    assert (report.format, report.created) == ("best-of", 3)
    p = f"human:imported-{study.pk}-"
    assert stored() == {
        (p + "ann1", "best_of", "CLIP-Dissect", "layer1", 0, None, False, False, "MILAN base"),
        (p + "ann1", "best_of", "CLIP-Dissect", "layer1", 1, None, False, True, None),
        (p + "ann2", "best_of", "CLIP-Dissect", "layer1", 0, None, False, False, "CLIP-Dissect"),
    }
    assert do_import_judgment_file(study, CHOICES).unchanged == 3
    other = CHOICES.replace(b"ann2,layer1,0,CLIP-Dissect", b"ann2,layer1,0,MILAN base")
    refused(
        lambda: do_import_judgment_file(study, other),
        "line 4: ann2 already has (chosen='CLIP-Dissect') for layer1:0",
    )
    both = b"rater,layer,unit,chosen,none_fits\nx,layer1,0,MILAN base,TRUE\nx,layer1,1,nope,\n"
    refused(lambda: do_import_judgment_file(study, both), "line 2: chosen names a label set")
    refused(
        lambda: do_import_judgment_file(study, both.replace(b"TRUE", b"")),
        "line 3: label set 'nope' has no label for layer1:1",
    )


def test_the_command_tells_files_apart_by_header(study, tmp_path):
    ratings, pairs, other = tmp_path / "r.csv", tmp_path / "p.csv", tmp_path / "o.csv"
    ratings.write_bytes(RATINGS)
    pairs.write_bytes(b"rater,layer,unit,rank,verdict\na,layer1,0,1,yes\n")
    other.write_bytes(b"who,what\na,b\n")
    call_command("import_judgments", str(ratings), "--study", "s")
    assert LabelJudgment.objects.count() == 4
    with pytest.raises(CommandError, match="no image at rank 1 of layer1:0"):
        call_command("import_judgments", str(pairs), "--study", "s")
    with pytest.raises(CommandError, match="unknown judgment file: the header has what, who"):
        call_command("import_judgments", str(other), "--study", "s")


def test_a_rated_label_is_not_relabelled_under_its_ratings(study):
    do_import_judgment_file(study, RATINGS)
    refused(
        lambda: do_import_labels(study, b"layer,unit,description\nlayer1,0,wolf\n"),
        "line 2: layer1:0 already has judgments for its current label",
    )
    do_import_labels(study, b"layer,unit,description\nlayer1,1,cat\n", label_set="third")
    do_import_judgment_file(study, b"rater,layer,unit,chosen\nann3,layer1,1,third\n")
    relabel = b"layer,unit,description\nlayer1,1,kitten\n"
    refused(
        lambda: do_import_labels(study, relabel, label_set="third"),
        "layer1:1 already has judgments",
    )


def test_the_stored_tables_feed_the_maths(study):
    from evaluation.agreement.ordinal import mean_ratings, win_rates
    from evaluation.label_judgments import choice_table, rating_table

    do_import_judgment_file(study, RATINGS)
    do_import_judgment_file(study, CHOICES)
    p = f"human:imported-{study.pk}-"
    choices = choice_table(study)
    assert choices.to_dict("records") == [
        {"rater": p + "ann1", "layer": "layer1", "unit": 0, "chosen": "MILAN base",
         "none_fits": False, "uninterpretable": False},
        {"rater": p + "ann1", "layer": "layer1", "unit": 1, "chosen": None,
         "none_fits": True, "uninterpretable": False},
        {"rater": p + "ann2", "layer": "layer1", "unit": 0, "chosen": "CLIP-Dissect",
         "none_fits": False, "uninterpretable": False},
    ]  # fmt: skip
    rates = win_rates(choices, label_sets=["CLIP-Dissect", "MILAN base"], n_boot=0)
    assert rates[["label_set", "wins"]].values.tolist() == [
        ["CLIP-Dissect", 1], ["MILAN base", 1], ["none fits", 1],
    ]  # fmt: skip
    ratings = rating_table(study)
    assert len(ratings) == 4 and ratings["rating"].isna().sum() == 1
    means = mean_ratings(ratings, n_boot=0).set_index(["label_set", "layer"], drop=False)
    assert means.loc[("CLIP-Dissect", "layer1"), "mean"] == 4.5  # ann1 4, ann2 5
    assert means.loc[("MILAN base", "layer1"), "ratings"] == 1  # the blank one is left out
