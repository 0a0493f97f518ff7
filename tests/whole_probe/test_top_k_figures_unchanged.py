"""Sampled images and their judgments leave every top-k (reference study) figure as it
was, as distractors do: the top-k section reads the top-k only."""

import pytest

from annotate.models import TOP_K, NeuronImage
from annotate.sampling import do_sample_probe_images
from evaluation.models import Judgment, Rater
from evaluation.probe_metrics.sampling import SampleDesign
from evaluation.reports.cache import get_study_report
from evaluation.reports.read import disputed_details, load_long_table
from tests.whole_probe.helpers import import_dissection

pytestmark = pytest.mark.django_db


def judge(raters, pairs) -> None:
    """Each rater a different but fixed verdict per pair, so the figures are not trivial."""
    Judgment.objects.bulk_create(
        Judgment(
            rater=rater, neuron_image_id=pk, verdict="yes" if (pk * (i + 3)) % 5 < 3 else "no",
            score=((pk * (i + 7)) % 11) / 10,
        )
        for i, rater in enumerate(raters)
        for pk in pairs
    )  # fmt: skip


def sorted_table(study):
    table = load_long_table(study)
    return table.sort_values(["rater_id", "item"]).reset_index(drop=True)


def without_probe_set(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "probe_set"}


def test_sampled_images_and_their_judgments_leave_the_top_k_figures_alone(tmp_path, annotators):
    study = import_dissection(tmp_path)
    raters = [
        Rater.objects.create(name="alice", kind="human", user=annotators["alice"]),
        Rater.objects.create(name="bob", kind="human", user=annotators["bob"]),
        Rater.objects.create(name="clip", kind=Rater.Kind.OPENCLIP_ES),
    ]
    top = list(NeuronImage.objects.filter(TOP_K, neuron__study=study).values_list("pk", flat=True))
    judge(raters, top)
    before = get_study_report(study)
    table_before = sorted_table(study)
    assert before["probe_set"]["sampled_images"] == 0

    do_sample_probe_images(study, SampleDesign(random=10, strata=3, per_stratum=2, seed=1))
    sampled = NeuronImage.objects.filter(neuron__study=study, is_sampled=True)
    judge(raters, list(sampled.values_list("pk", flat=True)))
    after = get_study_report(study)

    assert after["probe_set"]["sampled_images"] == sampled.count() > 0
    assert after["probe_set"]["rows"]  # the sampled judgments went to the other section
    assert without_probe_set(after) == without_probe_set(before)
    assert sorted_table(study).equals(table_before)
    for detail in disputed_details(study, after):
        assert all(not image["pair"].is_sampled for image in detail["images"])
