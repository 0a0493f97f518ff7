"""From a CLIP-Dissect-shaped dissection (probe folder, activations .pt, descriptions.csv)
through sampled images and human annotation to the report's whole-probe section: the
generic label "objects" passes the top-k measure and fails F1 and IoU; the right label
passes both."""

import json
import uuid

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import do_create_invite, do_join_study
from annotate.annotation.submission import do_submit_unit
from annotate.models import AnnotationSettings, Neuron, NeuronImage, ProbeSetImage, Study
from evaluation.reports.cache import get_study_report
from tests.helpers import give_to_staff, pairs_shown
from tests.whole_probe.helpers import UNITS, image_class, import_dissection

pytestmark = pytest.mark.django_db(transaction=True)

HUMANS = ("alice", "bob", "charlie")
RATERS = tuple(f"human:{name}" for name in HUMANS)


def truth_of(study: Study):
    """Does the image of a pair show the neuron's label? "objects": always."""
    classes = image_class()
    row_of = dict(
        ProbeSetImage.objects.filter(probe_set=study.probe_set).values_list("image_id", "index")
    )
    pairs = NeuronImage.objects.filter(neuron__study=study).values_list(
        "pk", "image_id", "neuron__unit", "neuron__label"
    )
    return {
        pk: label == "objects" or classes[row_of[image]] == unit for pk, image, unit, label in pairs
    }


def annotate_everything(study: Study, users) -> int:
    truth = truth_of(study)
    submitted = 0
    for user in users:
        while True:
            units = access_next_unit(user, study, prefetch=0)["units"]
            if not units:
                break
            unit = units[0]
            ids = [img["id"] for img in unit["images"]]
            pair_of = pairs_shown(user, unit)  # opaque ids back to (neuron, image) pairs
            do_submit_unit(
                user, study, client_id=uuid.uuid4(), neuron_id=unit["neuron"],
                answers={i: "yes" if truth[pair_of[i]] else "no" for i in ids}, order_shown=ids,
                ms_spent=900,
            )  # fmt: skip
            submitted += 1
    return submitted


def row(section: dict, rater: str, label_set: str, layer: str = "Overall") -> dict:
    (found,) = [
        r for r in section["rows"]
        if (r["rater"], r["label_set"], r["layer"], r["role"]) == (rater, label_set, layer, "real")
    ]  # fmt: skip
    return found


@pytest.fixture
def annotated(tmp_path, staff, annotators):
    study = give_to_staff(import_dissection(tmp_path))
    Study.objects.filter(pk=study.pk).update(probe_alpha=0.1)  # one class in ten
    study.refresh_from_db()
    AnnotationSettings.objects.create(study=study, gold_rate=0, shuffle_images=True)
    call_command(
        "sample_probe_images", study=study.name, random=30, strata=4, per_stratum=6, seed=0
    )
    invite = do_create_invite(study, staff)
    users = [annotators[name] for name in HUMANS]
    for user in users:
        do_join_study(user, invite)
    assert annotate_everything(study, users) == 3 * 2 * UNITS
    return study


def test_generic_label_passes_top_k_and_fails_the_whole_probe_metrics(annotated):
    section = get_study_report(annotated)["probe_set"]
    assert section["alpha"] == 0.1 and section["probe_set"] == "probe"
    assert section["sampled_images"] == NeuronImage.objects.filter(is_sampled=True).count() > 0
    for human in RATERS:
        generic, truth = row(section, human, "generic"), row(section, human, "truth")
        assert generic["n"] == truth["n"] == UNITS
        assert generic["top_k_yes"]["mean"] == 1.0 == truth["top_k_yes"]["mean"]
        # |A| = 30 of 300 images (alpha 0.1), C = all of them for "objects", so by hand:
        # recall 1, precision 30/300, F1 60/330, IoU 30/300, AUPRC 30/300, correlation 0;
        # the right label's C is A: 1 throughout. The estimates weigh each part of D (A and
        # the rest) up to its known size, so these come out exactly.
        expected = {"recall": 1.0, "precision": 0.1, "f1": 60 / 330, "iou": 0.1, "auprc": 0.1}
        for metric, value in expected.items():
            assert generic[metric]["mean"] == pytest.approx(value), metric
            assert truth[metric]["mean"] == pytest.approx(1.0), metric
        assert generic["correlation"]["mean"] == 0.0  # a constant concept vector
        assert truth["correlation"]["low"] > 0.9
        layer = row(section, human, "truth", "layer4")
        assert {k: layer[k] for k in ("f1", "n")} == {k: truth[k] for k in ("f1", "n")}


def test_the_sanity_tests_on_the_study_ratings_say_which_figures_to_trust(annotated):
    section = get_study_report(annotated)["probe_set"]
    table = {(s["rater"], s["metric"]): s for s in section["sanity"]}
    assert {rater for rater, _ in table} == set(RATERS)
    for human in RATERS:
        assert table[(human, "f1")]["neurons"] == UNITS  # "objects" is true of too much
        trusted = {m for (r, m), s in table.items() if r == human and s["trusted"]}
        assert trusted == {"f1", "iou", "correlation", "cosine", "auprc"}
        assert not table[(human, "recall")]["extra_labels_pass"]
        assert not table[(human, "precision")]["missing_labels_pass"]


def test_the_top_k_section_and_report_json_show_both(annotated, client, staff):
    client.force_login(staff)
    document = json.loads(client.get(reverse("study-report-json", args=[annotated.pk])).content)
    assert set(document["probe_set"]) == {
        "alpha", "probe_set", "metrics", "sampled_images", "rows", "sanity", "dense"
    }  # fmt: skip
    assert document["probe_set"]["metrics"] == [
        "recall", "precision", "f1", "iou", "correlation", "cosine", "auprc"
    ]  # fmt: skip
    page = client.get(reverse("study-report", args=[annotated.pk])).content.decode()
    assert "Top-k (reference study)" in page and "Whole probe set" in page
    assert page.count('class="grid compact probe-set"') == 1
    # the top-k section counts the top-k only: 5 images per neuron, every rater
    pairs = {r["name"]: r["items"] for r in document["raters"] if r["name"] in RATERS}
    assert pairs == {name: 2 * UNITS * 5 for name in RATERS}
    assert np.isfinite(document["probe_set"]["rows"][0]["f1"]["mean"])
    export = client.get(reverse("study-report-judgments", args=[annotated.pk, "json"]))
    records = json.loads(b"".join(export.streaming_content))
    sampled = [r for r in records if r["is_sampled"]]
    assert sampled and all(0 < r["inclusion_probability"] <= 1 for r in sampled)
    assert all(r["inclusion_probability"] is None for r in records if not r["is_sampled"])


def test_the_generic_label_set_gets_no_extra_neurons(annotated):
    assert Neuron.objects.filter(study=annotated).count() == 2 * UNITS
