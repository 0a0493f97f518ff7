"""Report pages, exports, caching and sanity probes against a real PostgreSQL study."""

import csv
import io
import json

import pytest
from django.urls import reverse

from annotate.models import Neuron, NeuronImage
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus
from evaluation.reports.cache import get_study_report
from evaluation.reports.export import escape_cell
from evaluation.reports.options import ReportOptions
from evaluation.sanity import do_create_sanity_probes
from tests.helpers import judge, slip_a_distractor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


def test_report_figures_for_a_small_study(rated_study):
    report = get_study_report(rated_study)
    assert report["layers"] == ["layer1", "layer2"]
    assert report["reference"] == "Human Dawid-Skene"
    pair = {(p["first"], p["second"]): p for p in report["pair"]["pairwise"]}
    ab = pair[("alice", "bob")]
    # bob differs from alice on the last two of 18 pairs: yes->no, no->yes
    assert (ab["n"], ab["a"], ab["b"], ab["c"], ab["d"]) == (18, 11, 1, 1, 5)
    assert ab["iou"] == pytest.approx(11 / 13)
    by_layer = {
        layer: {(p["first"], p["second"]): p for p in pairs}
        for layer, pairs in report["pair"]["pairwise_by_layer"].items()
    }
    assert by_layer["layer1"][("alice", "bob")]["percent"] == 1.0  # bob's two slips are in layer2
    assert by_layer["layer2"][("alice", "bob")]["n"] == 9
    assert by_layer["layer2"][("alice", "bob")]["percent"] == pytest.approx(7 / 9)
    es_alice = pair[("alice", "OpenCLIP ES")]
    assert es_alice["kappa"] == pytest.approx(1.0)
    blip_yes = next(r for r in report["neuron"]["yes_rates"] if r["rater"] == "=BLIP")
    assert blip_yes["rate"] == 1.0
    assert {c["rater"] for c in report["calibration"]} == {"OpenCLIP ES"}
    overall = [r for r in report["pair"]["by_layer"] if r["layer"] == "Overall"]
    assert {r["rater"] for r in overall} >= {"OpenCLIP ES", "=BLIP", "alice", "bob"}


def test_report_page_for_staff_and_refused_for_annotators(client, rated_study, staff, annotators):
    url = reverse("study-report", args=[rated_study.pk])
    client.force_login(annotators["alice"])
    assert client.get(url).status_code == 403
    assert client.get(reverse("study-report-json", args=[rated_study.pk])).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(staff)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for heading in ("per layer (reference Table 1)", "Run times", "Threshold calibration"):
        assert heading in html
    assert "Annotator reliability" in html and "OpenCLIP ES" in html
    assert 'id="heatmap-data"' in html
    assert client.get(url + "?rule=some").status_code == 400


def test_exports_escape_formulas_and_stream_the_long_table(client, rated_study, staff):
    client.force_login(staff)
    url = reverse("study-report-table", args=[rated_study.pk, "pairwise", "csv"])
    body = b"".join(client.get(url).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["layer", "first", "second", "n"]
    assert {r[0] for r in rows[1:]} == {"Overall", "layer1", "layer2"}
    assert any("'=BLIP" in (r[1], r[2]) for r in rows[1:])
    assert not any(cell.startswith("=") for r in rows for cell in r)
    long = client.get(reverse("study-report-judgments", args=[rated_study.pk, "csv"]))
    lines = list(csv.reader(io.StringIO(b"".join(long.streaming_content).decode())))
    assert len(lines) == 1 + 4 * 18
    assert lines[0][9] == "rater" and "'=BLIP" in {r[9] for r in lines[1:]}
    js = client.get(reverse("study-report-judgments", args=[rated_study.pk, "json"]))
    records = json.loads(b"".join(js.streaming_content))
    assert len(records) == 72 and {r["verdict"] for r in records} == {"yes", "no"}
    table = client.get(reverse("study-report-table", args=[rated_study.pk, "sanity", "json"]))
    assert table.status_code == 200 and json.loads(table.content) == []
    bad = reverse("study-report-table", args=[rated_study.pk, "nope", "csv"])
    assert client.get(bad).status_code == 400


def test_escape_cell_covers_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert escape_cell(start + "cmd") == "'" + start + "cmd"
    assert escape_cell(-0.5) == -0.5  # numbers are not text formulas
    assert escape_cell("dog") == "dog"


def test_new_judgment_invalidates_the_cached_report(rated_study, annotators, django_user_model):
    first = get_study_report(rated_study)
    assert get_study_report(rated_study) == first  # served from the cache
    carol = django_user_model.objects.create_user("carol")
    rater = Rater.objects.create(name="carol", kind="human", user=carol)
    pair = NeuronImage.objects.filter(neuron__study=rated_study).first()
    Judgment.objects.create(rater=rater, neuron_image=pair, verdict="no")
    second = get_study_report(rated_study)
    assert "carol" in {r["name"] for r in second["raters"]}
    assert "carol" not in {r["name"] for r in first["raters"]}


def test_report_json_is_served_from_cache_until_a_judgment_or_a_finished_run(
    client, rated_study, staff, django_user_model
):
    from django.utils import timezone

    client.force_login(staff)
    url = reverse("study-report-json", args=[rated_study.pk])
    api = f"/api/reports/{rated_study.pk}/"
    first, first_api = client.get(url).content, client.get(api).content
    assert client.get(url).content == first and client.get(api).content == first_api
    assert json.loads(first_api) == json.loads(first)  # one document, page and API
    assert json.loads(first_api)["study"] == {"id": rated_study.pk, "name": "rated"}
    report = get_study_report(rated_study)
    assert {
        k: v for k, v in json.loads(first).items() if k not in ("study", "runs", "annotation_spans")
    } == report

    blip = Rater.objects.get(name="=BLIP")
    EvaluationRun.objects.create(
        rater=blip, study=rated_study, status=RunStatus.DONE, done_pairs=18, total_pairs=18,
        wall_seconds=9.0, finished_at=timezone.now(),
    )  # fmt: skip
    with_run = json.loads(client.get(url).content)
    assert "=BLIP" in {r["rater"] for r in with_run["runs"]}
    assert json.loads(client.get(api).content) == with_run

    dora = Rater.objects.create(
        name="dora", kind="human", user=django_user_model.objects.create_user("dora")
    )
    pair = NeuronImage.objects.filter(neuron__study=rated_study).first()
    Judgment.objects.create(rater=dora, neuron_image=pair, verdict="yes")
    assert "dora" in {r["name"] for r in json.loads(client.get(url).content)["raters"]}
    assert "dora" in {r["name"] for r in json.loads(client.get(api).content)["raters"]}


def test_report_page_tables_are_rendered_again_after_new_judgments(client, rated_study, staff):
    client.force_login(staff)
    url = reverse("study-report", args=[rated_study.pk])

    def per_layer_table() -> str:
        html = client.get(url).content.decode()
        return html.split("reference Table 1")[1].split("reference Table 2")[0]

    assert "Late model" not in per_layer_table()
    assert per_layer_table() == per_layer_table()  # the second one from the fragment cache
    late = Rater.objects.create(name="Late model", kind="openclip_cp", params={})
    judge(late, list(NeuronImage.objects.filter(neuron__study=rated_study)), ["yes"] * 18)
    assert "Late model" in per_layer_table()


def test_sanity_probes_are_idempotent_and_expose_a_yes_to_everything_rater(rated_study):
    result = do_create_sanity_probes(rated_study, per_layer=2, seed=1)
    assert dict(result.created) == {"generic_label": 4, "shuffled_label": 4, "control_images": 4}
    again = do_create_sanity_probes(rated_study, per_layer=2, seed=1)
    assert sum(again.created.values()) == 0
    probes = Neuron.objects.filter(study=rated_study).exclude(role="real")
    assert probes.count() == 12
    for probe in probes.filter(role="shuffled_label"):
        assert probe.label != probe.source.label and probe.layer == probe.source.layer
    blip = Rater.objects.get(name="=BLIP")
    es = Rater.objects.get(name="OpenCLIP ES")
    probe_pairs = list(NeuronImage.objects.filter(neuron__in=probes))
    judge(blip, probe_pairs, ["yes"] * len(probe_pairs))
    judge(es, probe_pairs, ["no"] * len(probe_pairs))
    report = get_study_report(rated_study)
    rows = {s["rater"]: s for s in report["sanity"]}
    assert rows["=BLIP"]["flagged"] and "shuffled label: 100% yes" in rows["=BLIP"]["reason"]
    assert not rows["OpenCLIP ES"]["flagged"]
    assert rows["=BLIP"]["rates"]["real"]["n"] == 18  # probes never mix into real figures
    with pytest.raises(ValueError):
        do_create_sanity_probes(rated_study, per_layer=0)


def test_disagreement_browser_and_cross_study(client, rated_study, staff):
    client.force_login(staff)
    page = client.get(reverse("study-report-disagreements", args=[rated_study.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "yes, it does" in html  # the VQA answer text
    assert "disagreement" in html
    cross = client.get(reverse("cross-study-report") + "?format=json")
    rows = json.loads(cross.content)
    assert {r["rater"] for r in rows} >= {"OpenCLIP ES", "=BLIP"}
    blip = next(r for r in rows if r["rater"] == "=BLIP")
    assert blip["labels_correct"] == 1.0
    assert client.get(reverse("cross-study-report")).status_code == 200


def test_exclude_option_leaves_an_annotator_out_of_the_consensus(rated_study):
    report = get_study_report(rated_study, ReportOptions(exclude=("bob",)))
    bob = next(r for r in report["reliability"] if r["rater"] == "bob")
    assert bob["excluded"]
    pair = {(p["first"], p["second"]): p for p in report["pair"]["pairwise"]}
    assert pair[("alice", "Human majority")]["kappa"] == pytest.approx(1.0)


def test_empty_and_model_only_studies_still_report(client, make_study, staff):
    empty = make_study(name="empty", neurons=2, k=2)
    client.force_login(staff)
    page = client.get(reverse("study-report", args=[empty.pk]))
    assert page.status_code == 200 and "No judgments yet" in page.content.decode()
    models_only = make_study(name="models-only", neurons=3, k=2)
    pairs = list(NeuronImage.objects.filter(neuron__study=models_only).order_by("id"))
    cp = Rater.objects.create(name="CP", kind="openclip_cp", params={})
    vqa = Rater.objects.create(name="VQA", kind="vqa_openai", params={})
    judge(cp, pairs, ["yes", "no", "yes", "yes", "no", "no"])
    judge(vqa, pairs, ["yes", "unparseable", "yes", "skip", "no", "yes"])
    report = get_study_report(models_only)
    assert report["reference"] is None and report["reliability"] == []
    [pair] = report["pair"]["pairwise"]
    assert pair["n"] == 4  # unparseable and skip count as missing
    assert (pair["a"], pair["b"], pair["c"], pair["d"]) == (2, 0, 1, 1)
    assert client.get(reverse("study-report", args=[models_only.pk])).status_code == 200


def test_study_page_links_the_report_for_staff_only(client, rated_study, staff, annotators):
    url = reverse("study-detail", args=[rated_study.pk])
    client.force_login(staff)
    assert reverse("study-report", args=[rated_study.pk]) in client.get(url).content.decode()
    client.force_login(annotators["alice"])
    response = client.get(url)
    assert reverse("study-report", args=[rated_study.pk]) not in response.content.decode()


def test_every_listed_table_exports_as_csv_and_json(client, rated_study, staff):
    from evaluation.reports.export import TABLES

    client.force_login(staff)
    page = client.get(reverse("study-report", args=[rated_study.pk])).content.decode()
    for name in TABLES:
        for fmt in ("csv", "json"):
            url = reverse("study-report-table", args=[rated_study.pk, name, fmt])
            assert url in page
            response = client.get(url + "?level=neuron")
            assert response.status_code == 200, (name, fmt)
    runs_url = reverse("study-report-runs", args=[rated_study.pk, "json"])
    runs = json.loads(client.get(runs_url).content)
    es = next(r for r in runs if r["rater"] == "OpenCLIP ES")
    assert es["wall_seconds"] == 2.5 and es["pairs_per_second"] == pytest.approx(18 / 2.5)
    xlsx = reverse("study-report-runs", args=[rated_study.pk, "xlsx"])
    assert client.get(xlsx).status_code == 404


def test_exclude_by_rater_id_and_bad_ids(client, rated_study, staff):
    bob = Rater.objects.get(name="bob")
    report = get_study_report(rated_study, ReportOptions(exclude_rater_ids=(bob.pk,)))
    assert next(r for r in report["reliability"] if r["rater"] == "bob")["excluded"]
    client.force_login(staff)
    url = reverse("study-report-json", args=[rated_study.pk])
    data = json.loads(client.get(url, {"exclude_id": bob.pk}).content)
    assert data["options"]["exclude_rater_ids"] == [bob.pk]
    assert data["left_out"] == [
        {"rater": "bob", "reason": "left out by the report's options", "gold_accuracy": None}
    ]
    assert client.get(url, {"exclude_id": "bob"}).status_code == 400


def test_gold_accuracy_from_distractors_and_min_gold(rated_study):
    neuron = Neuron.objects.filter(study=rated_study).order_by("unit").first()
    donor = NeuronImage.objects.filter(neuron__study=rated_study).exclude(neuron=neuron).first()
    distractor = NeuronImage.objects.create(
        neuron=neuron, image=donor.image, rank=99, is_distractor=True
    )
    judge(Rater.objects.get(name="alice"), [distractor], ["no"])  # right: a distractor is a no
    judge(Rater.objects.get(name="bob"), [distractor], ["yes"])
    report = get_study_report(rated_study)
    gold = {r["rater"]: (r["gold_accuracy"], r["gold_items"]) for r in report["reliability"]}
    assert gold == {"alice": (1.0, 1), "bob": (0.0, 1)}
    assert report["pair"]["pairwise"][0]["n"] == 18  # the distractor stays out of agreement
    strict = get_study_report(rated_study, ReportOptions(min_gold=0.5))
    assert [r["rater"] for r in strict["reliability"] if r["excluded"]] == ["bob"]
    everyone = get_study_report(rated_study, ReportOptions(min_gold=0))
    assert not any(r["excluded"] for r in everyone["reliability"])


def test_staff_create_sanity_probes_from_the_report_page(client, rated_study, staff, annotators):
    url = reverse("study-report-sanity-probes", args=[rated_study.pk])
    client.force_login(annotators["alice"])
    assert client.post(url, {"per_layer": 1}).status_code == 403
    client.force_login(staff)
    assert client.get(url).status_code == 405
    response = client.post(url, {"per_layer": 1}, follow=True)
    assert "6 sanity probes created" in response.content.decode()
    assert Neuron.objects.filter(study=rated_study).exclude(role="real").count() == 6
    bad = client.post(url, {"per_layer": 0}, follow=True)
    assert "No probes created" in bad.content.decode()
    assert Neuron.objects.filter(study=rated_study).exclude(role="real").count() == 6


def test_an_annotator_under_the_studys_gold_bar_is_left_out_of_agreement_by_default(
    client, rated_study, staff
):
    from annotate.models import AnnotationSettings

    AnnotationSettings.objects.create(study=rated_study, min_gold_accuracy=0.7)
    slip_a_distractor(rated_study, right="alice", wrong="bob")  # bob: gold accuracy 0.0
    report = get_study_report(rated_study)
    assert report["options"]["min_gold"] == 0.7
    assert [r["rater"] for r in report["reliability"] if r["excluded"]] == ["bob"]
    assert report["left_out"] == [
        {
            "rater": "bob",
            "reason": "gold accuracy 0.000 on 1 known pair is under the bar of 0.7",
            "gold_accuracy": 0.0,
        }
    ]
    # the consensus is alice's alone, so she agrees with it perfectly; bob's two slips show
    pair = {(p["first"], p["second"]): p for p in report["pair"]["pairwise"]}
    assert pair[("alice", "Human majority")]["kappa"] == pytest.approx(1.0)
    assert pair[("bob", "Human majority")]["kappa"] < 1.0
    client.force_login(staff)
    page = client.get(reverse("study-report", args=[rated_study.pk])).content.decode()
    assert "gold accuracy 0.000 on 1 known pair is under the bar of 0.7" in page
    # the report may set another bar: 0 keeps everyone
    data = json.loads(client.get(reverse("study-report-json", args=[rated_study.pk]),
                                 {"min_gold": 0}).content)  # fmt: skip
    assert data["left_out"] == [] and data["options"]["min_gold"] == 0.0


def test_changing_the_studys_gold_bar_changes_the_default_report(rated_study):
    from annotate.models import AnnotationSettings

    slip_a_distractor(rated_study, right="alice", wrong="bob")
    assert [r["rater"] for r in get_study_report(rated_study)["left_out"]] == ["bob"]  # 0.7
    AnnotationSettings.objects.update_or_create(
        study=rated_study, defaults={"min_gold_accuracy": 0.0}
    )
    assert get_study_report(rated_study)["left_out"] == []


def test_fleiss_kappa_is_undefined_where_only_one_verdict_occurs(make_study):
    """Every rater says yes to everything: kappa, IoU's chance and alpha are undefined; so is
    Fleiss' kappa (it used to read 1.0)."""
    study = make_study(name="all-yes", neurons=2, k=2)
    pairs = list(NeuronImage.objects.filter(neuron__study=study))
    for name in ("one", "two", "three"):
        judge(Rater.objects.create(name=name, kind="openclip_cp", params={"n": name}), pairs,
              ["yes"] * len(pairs))  # fmt: skip
    report = get_study_report(study)
    multi = report["pair"]["multi"]["all"]
    assert multi["fleiss_items"] == 4
    assert multi["fleiss_kappa"] is None and multi["krippendorff_alpha"] is None
    assert all(p["kappa"] is None for p in report["pair"]["pairwise"])


def test_runs_are_automatic_runs_and_annotators_are_listed_apart(client, rated_study, staff):
    client.force_login(staff)
    document = json.loads(client.get(f"/api/reports/{rated_study.pk}/").content)
    assert [r["rater"] for r in document["runs"]] == ["OpenCLIP ES"]
    spans = {s["rater"]: s for s in document["annotation_spans"]}
    assert set(spans) == {"alice", "bob"} and spans["alice"]["pairs"] == 18
    assert "pairs_per_second" not in spans["alice"]
    runs_csv = client.get(reverse("study-report-runs", args=[rated_study.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(b"".join(runs_csv.streaming_content).decode())))
    assert [r[0] for r in rows[1:]] == ["OpenCLIP ES"]
    page = client.get(reverse("study-report", args=[rated_study.pk])).content.decode()
    runs_table = page.split('id="runs"')[1].split("</table>")[0]
    assert "OpenCLIP ES" in runs_table and "alice" not in runs_table


def test_share_of_labels_judged_correct_exports_clean_numbers(client, rated_study, staff):
    """alice says yes to 12 of 18 pairs: the CSV says 12/18 as a float64 writes it, not a
    float32's 0.6666666865348816."""
    client.force_login(staff)
    url = reverse("study-report-table", args=[rated_study.pk, "yes-rates", "csv"])
    body = b"".join(client.get(url, {"level": "pair"}).streaming_content).decode()
    rows = {(r[0], r[1]): r for r in csv.reader(io.StringIO(body))}
    assert rows[("alice", "Overall")][2:4] == ["18", repr(12 / 18)]
    assert rows[("bob", "layer2")][2:4] == ["9", repr(6 / 9)]
