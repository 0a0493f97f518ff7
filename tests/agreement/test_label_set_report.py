"""A study with two label sets over the same neurons: the demo CLIP run on both, annotators
on both, and the report, its comparison table, exports and API show each label set."""

from __future__ import annotations

import csv
import io

import pytest

from annotate.annotation.assignment import access_next_unit
from annotate.annotation.members import do_create_invite, do_join_study
from annotate.annotation.submission import do_submit_unit
from annotate.demo_images import SHAPES, TEXTURES, render
from annotate.images import do_store_image
from annotate.importers.labels import do_import_labels
from annotate.models import AnnotationSettings, ConceptSet, LabelSet, Neuron, NeuronImage, Study
from annotate.ownership import do_grant_owner
from evaluation import rater_configs, run_actions, runs
from evaluation.models import Judgment, Rater, RunStatus
from evaluation.raters import clip_encoder
from evaluation.raters.clip_spec import DEMO_MODEL
from evaluation.reports.cache import get_study_report, report_document_json
from evaluation.reports.options import ReportOptions
from tests.helpers import answer_all

pytestmark = pytest.mark.django_db
COLOURS = ["red", "blue", "green"]
CONSENSUS = ("Human majority", "Human Dawid-Skene")
SWAPPED = b"layer,unit,description\nlayer1,0,blue\nlayer1,1,green\nlayer1,2,red\n"


@pytest.fixture(autouse=True)
def _fresh_raters():
    """No rater or encoder (with its in-memory text embeddings) kept across tests."""
    runs._RATERS.clear()
    yield
    runs._RATERS.clear()
    clip_encoder._ENCODERS.clear()


@pytest.fixture
def two_sets(staff, annotators) -> Study:
    """Units 0-2 show red, blue and green shapes. "colours" labels each right; "swapped"
    (imported after the images, so it shares them) labels each with another unit's colour.
    The demo CLIP and alice and bob judge both."""
    concepts = ConceptSet.objects.create(name="colours", concepts=COLOURS, sha256="colours")
    study = Study.objects.create(
        name="two sets", target_network="demo", probe_dataset="shapes", concept_set=concepts,
        layers=["layer1"], k=4,
    )  # fmt: skip
    do_grant_owner(study, staff)
    first = LabelSet.objects.create(study=study, name="colours", method="by hand")
    for unit, colour in enumerate(COLOURS):
        neuron = Neuron.objects.create(
            study=study, label_set=first, layer="layer1", unit=unit, label=colour
        )
        for rank, (shape, texture) in enumerate(zip(SHAPES, TEXTURES, strict=True), start=1):
            image = do_store_image(render(shape, colour, texture, variant=rank, seed=7).png)
            NeuronImage.objects.create(neuron=neuron, image=image, rank=rank)
    do_import_labels(study, SWAPPED, label_set="swapped")
    assert NeuronImage.objects.filter(neuron__study=study).count() == 24  # 4 images x 6 labels

    rater = rater_configs.do_get_rater("openclip_es", {"model": DEMO_MODEL})
    run = run_actions.do_create_run(study, rater)  # a run rates every pair: both label sets
    for chunk_id in run_actions.do_plan_run(run.pk):
        runs.do_rate_chunk(chunk_id, worker="test")
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.done_pairs == 24

    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0)
    invite = do_create_invite(study, staff)
    for name in ("alice", "bob"):
        user = annotators[name]
        do_join_study(user, invite)
        while units := access_next_unit(user, study, prefetch=0)["units"]:
            neuron = Neuron.objects.get(pk=units[0]["neuron"])
            right = neuron.label == COLOURS[neuron.unit]
            do_submit_unit(user, study, **answer_all(units[0], "yes" if right else "no"))
    return study


def _share(report, label_set, rater, layer="Overall"):
    found = next(s for s in report["label_sets"] if s["name"] == label_set)
    rows = {(r["rater"], r["layer"]): (r["rate"], r["n"]) for r in found["shares"]}
    return rows[(rater, layer)]


def test_the_report_gives_each_label_set_and_their_paired_difference(two_sets):
    report = get_study_report(two_sets)
    es = next(r["name"] for r in report["raters"] if r["kind"] == "openclip_es")
    sets = {s["name"]: s for s in report["label_sets"]}
    assert list(sets) == ["colours", "swapped"]
    assert sets["colours"]["method"] == "by hand" and sets["colours"]["neurons"] == 3
    assert sets["swapped"]["id"] == LabelSet.objects.get(study=two_sets, name="swapped").pk
    for rater in ("human:alice", "human:bob", es, "Human Dawid-Skene"):
        assert _share(report, "colours", rater) == (1.0, 3), rater
        assert _share(report, "swapped", rater) == (0.0, 3), rater
    rows = [d for d in report["label_set_comparison"] if d["layer"] == "Overall"]
    alice = next(d for d in rows if d["rater"] == "human:alice")
    assert (alice["first"], alice["second"], alice["n"]) == ("colours", "swapped", 3)
    assert (alice["first_only"], alice["second_only"], alice["difference"]) == (3, 0, 1.0)
    assert alice["mcnemar_p"] == pytest.approx(0.25)  # 3 discordant, all one way: 2 / 2**3
    assert {d["rater"] for d in rows} == {"human:alice", "human:bob", es, *CONSENSUS}
    names = report["display_names"]
    threshold = Rater.objects.get(name=es).params["threshold"]  # the demo model's calibration
    assert (names[es], names["human:alice"]) == (f"ES {threshold:g} demo-clip", "human: alice")


def test_the_label_set_option_shows_one_label_set_by_name_or_id(two_sets):
    swapped = LabelSet.objects.get(study=two_sets, name="swapped")
    by_name = get_study_report(two_sets, ReportOptions(label_set="swapped"))
    by_id = get_study_report(two_sets, ReportOptions(label_set=str(swapped.pk)))
    assert by_name == by_id
    assert by_name["options"]["label_set"] == "swapped"
    assert [s["name"] for s in by_name["label_sets"]] == ["swapped"]
    assert by_name["label_set_comparison"] == []
    assert {r["name"]: r["items"] for r in by_name["raters"]}["human:alice"] == 12
    yes = {(r["rater"], r["layer"]): r["rate"] for r in by_name["neuron"]["yes_rates"]}
    assert yes[("human:alice", "Overall")] == 0.0
    with pytest.raises(ValueError, match="'nope' is not one of this study's: 'colours', 'swapped'"):
        get_study_report(two_sets, ReportOptions(label_set="nope"))


def test_page_json_exports_and_api_show_both_label_sets(two_sets, client, staff):
    client.force_login(staff)
    page = client.get(f"/reports/studies/{two_sets.pk}/").content.decode()
    assert '<select name="label_set"' in page
    assert "Label sets compared" in page and "swapped" in page and "colours" in page
    assert "2 label sets together" in page
    one = client.get(f"/reports/studies/{two_sets.pk}/", {"label_set": "swapped"})
    assert "label set <strong>swapped</strong> only" in one.content.decode()
    assert '<option value="swapped" selected>' in one.content.decode()
    document = report_document_json(two_sets)
    assert b'"label_set_comparison"' in document and b'"label_sets"' in document
    url = f"/reports/studies/{two_sets.pk}/tables/label-set-comparison.csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(client.get(url).streaming_content).decode())))
    alice = next(r for r in rows if r["rater"] == "human:alice" and r["layer"] == "Overall")
    assert (alice["first"], alice["second"], alice["difference"]) == ("colours", "swapped", "1.0")
    url = f"/reports/studies/{two_sets.pk}/tables/label-sets.json"
    shares = client.get(url).json()
    assert {(r["label_set"], r["rater"], r["layer"], r["share"]) for r in shares} >= {
        ("colours", "human:alice", "Overall", 1.0),
        ("swapped", "human:alice", "Overall", 0.0),
    }
    api = client.get(f"/api/reports/{two_sets.pk}/", {"label_set": "colours"}).json()
    assert [s["name"] for s in api["label_sets"]] == ["colours"]
    bad = client.get(f"/api/reports/{two_sets.pk}/", {"label_set": "nope"})
    assert bad.status_code == 400 and "not one of this study's" in bad.json()["detail"]
    assert client.get(f"/reports/studies/{two_sets.pk}/?label_set=nope").status_code == 400
    assert Judgment.objects.filter(study=two_sets, rater__kind="human").count() == 48


def test_disagreements_and_cross_study_take_the_label_set_option(two_sets, client, staff):
    Judgment.objects.filter(
        rater__name="human:bob", neuron_image__neuron__label_set__name="swapped"
    ).update(verdict="yes")  # bob now disputes every label of "swapped"
    client.force_login(staff)
    url = f"/reports/studies/{two_sets.pk}/disagreements/"
    both = client.get(url).content.decode()
    assert both.count('class="tag">swapped<') == 3 and 'class="tag">colours<' not in both
    only = client.get(url, {"label_set": "colours"}).content.decode()
    assert "No disagreements" in only
    cross = client.get("/reports/cross-study/", {"label_set": "colours", "format": "json"})
    assert cross.status_code == 200 and cross.json()
