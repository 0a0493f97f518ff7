"""The report's Ratings and Best-of sections: on a Describe-and-Dissect-shaped file the
E1-E2 agreement equals scikit-learn's, per label set and overall; on a study with every
kind of judgment, yes/no raters and rating raters meet on each label."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from sklearn.metrics import cohen_kappa_score

from annotate.models import Study
from evaluation.models import LabelJudgment, Rater
from evaluation.reports.cache import get_study_report
from evaluation.reports.options import ReportOptions
from evaluation.reports.rating_tables import RATING_TABLES
from tests.ratings.conftest import ALICE, ANN1, ANN2, labels_in_order
from tests.ratings.dnd_files import EVALUATORS, METHODS, dnd_file
from tests.ratings.test_dnd_kappa import file_columns

pytestmark = pytest.mark.django_db
SCALE = [1, 2, 3, 4, 5]
LAYERS = {"layer2": 10, "layer3": 15, "layer4": 25}


@pytest.fixture
def dnd_study(tmp_path):
    generated = dnd_file(units=LAYERS, seed=11)
    path = tmp_path / "human_evals.csv"
    path.write_bytes(generated.data)
    study = Study.objects.create(
        name="DnD ResNet-50", target_network="resnet50", probe_dataset="broden",
        question_type=Study.QuestionType.LABEL_RATING,
    )  # fmt: skip
    call_command(
        "import_judgments", str(path), "--study", study.name, "--format", "dnd-human-evals"
    )
    return Study.objects.get(pk=study.pk), generated


def report_json(client, study, query: str = "") -> dict:
    response = client.get(f"/reports/studies/{study.pk}/report.json?{query}")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_report_quadratic_kappa_per_label_set_and_overall_equals_sklearn(dnd_study, staff_client):
    study, generated = dnd_study
    columns = file_columns(generated.data)
    ratings = report_json(staff_client, study, "n_boot=50")["ratings"]
    found = {row["label_set"]: row for row in ratings["ordinal_agreement"]}
    assert set(found) == {*METHODS, None}
    e1, e2 = (f"human:imported-{study.pk}-{e}" for e in EVALUATORS)
    for method, (a, b) in columns.items():
        assert (found[method]["first"], found[method]["second"], found[method]["n"]) == (e1, e2, 50)
        expected = cohen_kappa_score(a, b, weights="quadratic", labels=SCALE)
        assert found[method]["kappa_quadratic"] == pytest.approx(expected, abs=1e-12)
        linear = cohen_kappa_score(a, b, weights="linear", labels=SCALE)
        assert found[method]["kappa_linear"] == pytest.approx(linear, abs=1e-12)
    every_e1 = [r for m in METHODS for r in columns[m][0]]
    every_e2 = [r for m in METHODS for r in columns[m][1]]
    expected = cohen_kappa_score(every_e1, every_e2, weights="quadratic", labels=SCALE)
    assert found[None]["n"] == 200
    assert found[None]["kappa_quadratic"] == pytest.approx(expected, abs=1e-12)
    alphas = {row["label_set"]: row for row in ratings["alpha_all_raters"]}
    assert alphas[None]["raters"] == [e1, e2] and alphas[None]["labels"] == 200
    # Two raters: the all-raters alpha is the pair's.
    assert alphas[None]["alpha_ordinal"] == pytest.approx(found[None]["alpha_ordinal"])


@pytest.mark.parametrize("threshold", [4, 3])
def test_binarised_pairwise_kappa_equals_sklearns_unweighted(dnd_study, staff_client, threshold):
    study, generated = dnd_study
    columns = file_columns(generated.data)
    query = "n_boot=0" + ("" if threshold == 4 else f"&rating_threshold={threshold}")
    ratings = report_json(staff_client, study, query)["ratings"]
    assert ratings["threshold"] == threshold
    binarised = ratings["binarised"]
    groups = {None: binarised["pairwise"]}
    groups |= {m: binarised["pairwise_by_label_set"][m] for m in METHODS}
    assert set(binarised["pairwise_by_label_set"]) == set(METHODS)
    assert set(binarised["pairwise_by_layer"]) == set(LAYERS)
    for method, pairs in groups.items():
        (pair,) = pairs
        chosen = METHODS if method is None else [method]
        e1 = np.concatenate([columns[m][0] for m in chosen]) >= threshold
        e2 = np.concatenate([columns[m][1] for m in chosen]) >= threshold
        assert pair["n"] == len(e1)
        assert pair["kappa"] == pytest.approx(cohen_kappa_score(e1, e2), abs=1e-12)


def test_mean_ratings_per_label_set_and_layer_are_every_rating_averaged(dnd_study):
    study, generated = dnd_study
    report = get_study_report(study, ReportOptions(n_boot=200))
    rows = {(r["label_set"], r["layer"]): r for r in report["ratings"]["mean_ratings"]}
    assert len(rows) == len(METHODS) * (len(LAYERS) + 1)
    for method in METHODS:
        for layer in (*LAYERS, None):
            given = [
                rating
                for (e, m, lay, _), (rating, _, _) in generated.ratings.items()
                if m == method and (layer is None or lay == layer)
            ]
            row = rows[(method, layer)]
            assert row["ratings"] == len(given) == 2 * (LAYERS.get(layer) or 50)
            assert row["mean"] == pytest.approx(sum(given) / len(given), abs=1e-12)
            assert row["low"] <= row["mean"] <= row["high"]
    assert report["ratings"]["layers"] == list(LAYERS)
    assert "best_of" not in report  # no best-of choices in the file


def test_a_yes_no_rater_meets_a_rating_rater_on_each_label(mixed_study):
    """alice's verdict on a label is any-of-3 over its images; ann1's is rating >= 4; both
    are compared on the 12 labels (2 label sets x 6 units)."""
    report = get_study_report(mixed_study, ReportOptions(n_boot=0))
    binarised = report["ratings"]["binarised"]
    ann1 = f"human:imported-{mixed_study.pk}-ann1"
    ann2 = f"human:imported-{mixed_study.pk}-ann2"
    assert binarised["raters"] == ["alice", ann1, ann2]
    assert binarised["rating_raters"] == [ann1, ann2]
    alice = np.array(["yes" in v for v in ALICE])
    first = np.array(ANN1) >= 4
    pairs = {(p["first"], p["second"]): p for p in binarised["pairwise"]}
    assert pairs[("alice", ann1)]["n"] == 12
    assert pairs[("alice", ann1)]["kappa"] == pytest.approx(cohen_kappa_score(alice, first))
    assert pairs[(ann1, ann2)]["a"] == int(np.sum(first & (np.array(ANN2) >= 4)))
    layer1 = [i for i, n in enumerate(labels_in_order(mixed_study)) if n.layer == "layer1"]
    by_layer = {(p["first"], p["second"]): p for p in binarised["pairwise_by_layer"]["layer1"]}
    expected = cohen_kappa_score(alice[layer1], first[layer1])
    assert by_layer[("alice", ann1)]["kappa"] == pytest.approx(expected)
    # A stricter rule changes alice's side only: all three images must match.
    strict = get_study_report(mixed_study, ReportOptions(n_boot=0, rule="all"))
    alice_all = np.array([v == "yes,yes,yes" for v in ALICE])
    pairs = {(p["first"], p["second"]): p for p in strict["ratings"]["binarised"]["pairwise"]}
    assert pairs[("alice", ann1)]["kappa"] == pytest.approx(cohen_kappa_score(alice_all, first))


def test_best_of_win_rates_count_every_answer(mixed_study):
    report = get_study_report(mixed_study, ReportOptions(n_boot=200))
    first = mixed_study.label_sets.order_by("pk").first().name
    rates = {r["label_set"]: r for r in report["best_of"]["win_rates"]}
    assert [r["label_set"] for r in report["best_of"]["win_rates"]] == [
        first, "MILAN base", "none fits",
    ]  # fmt: skip
    assert {k: (r["wins"], r["answers"]) for k, r in rates.items()} == {
        first: (6, 12), "MILAN base": (4, 12), "none fits": (2, 12),
    }  # fmt: skip
    assert rates[first]["rate"] == pytest.approx(6 / 12)
    assert rates[first]["low"] <= 6 / 12 <= rates[first]["high"]
    assert report["best_of"]["units"] == 6


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_every_rating_table_downloads_as_csv_and_json_on_the_page_and_the_api(
    mixed_study, staff_client, staff_api
):
    ann1 = f"human:imported-{mixed_study.pk}-ann1"
    expected = {
        "rating-raters": 2, "ordinal-agreement": 3, "alpha-all-raters": 3, "mean-ratings": 6,
        "binarised-pairwise": 3 * (1 + 2 + 2), "win-rates": 3,
    }  # fmt: skip
    assert set(expected) == set(RATING_TABLES)
    base = f"/reports/studies/{mixed_study.pk}/tables"
    for table, count in expected.items():
        rows = _csv(staff_client.get(f"{base}/{table}.csv?n_boot=20"))
        page_json = json.loads(staff_client.get(f"{base}/{table}.json?n_boot=20").content)
        api = staff_api.get(
            f"/api/reports/{mixed_study.pk}/table/?table={table}&output=json&n_boot=20"
        )
        assert len(rows) == len(page_json) == count, table
        assert json.loads(api.content) == page_json
        assert list(rows[0]) == list(page_json[0])
    ordinal = _csv(staff_client.get(f"{base}/ordinal-agreement.csv?n_boot=0"))
    overall = next(r for r in ordinal if r["label_set"] == "Overall")
    assert (overall["first"], overall["n"]) == (ann1, "12")
    kappa = cohen_kappa_score(ANN1, ANN2, weights="quadratic", labels=SCALE)
    assert float(overall["kappa_quadratic"]) == pytest.approx(kappa)
    binarised = _csv(staff_client.get(f"{base}/binarised-pairwise.csv?rating_threshold=5"))
    assert {r["threshold"] for r in binarised} == {"5"}
    assert {r["group"] for r in binarised} == {
        "Overall", "layer layer1", "layer layer2", "label set MILAN base",
        f"label set {mixed_study.label_sets.order_by('pk').first().name}",
    }  # fmt: skip


def test_a_study_without_ratings_has_neither_section_and_empty_tables(rated_study, staff_client):
    report = get_study_report(rated_study, ReportOptions(n_boot=0))
    assert "ratings" not in report and "best_of" not in report
    base = f"/reports/studies/{rated_study.pk}/tables"
    assert _csv(staff_client.get(f"{base}/mean-ratings.csv")) == []
    assert json.loads(staff_client.get(f"{base}/win-rates.json").content) == []


@pytest.mark.parametrize("value", ["0", "6", "4.5", "high"])
def test_a_bad_rating_threshold_is_refused(dnd_study, staff_client, value):
    study, _ = dnd_study
    response = staff_client.get(f"/reports/studies/{study.pk}/report.json?rating_threshold={value}")
    assert response.status_code == 400
    assert b"rating_threshold" in response.content


def test_a_rating_only_study_is_reported_by_the_api(dnd_study, staff_api):
    study, _ = dnd_study
    response = staff_api.get(f"/api/reports/{study.pk}/?n_boot=0")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["raters"] == [] and len(document["ratings"]["ordinal_agreement"]) == 5


@pytest.mark.django_db(transaction=True)  # the change counter moves at commit
def test_a_new_rating_changes_the_cached_report(mixed_study, staff_client, annotators):
    before = report_json(staff_client, mixed_study, "n_boot=0")["ratings"]
    assert before == report_json(staff_client, mixed_study, "n_boot=0")["ratings"]  # cached
    carol = Rater.objects.create(name="carol", kind="human", user=annotators["charlie"])
    label = labels_in_order(mixed_study)[0]
    LabelJudgment.objects.create(
        rater=carol, neuron=label, question=LabelJudgment.Question.LABEL_RATING, rating=2
    )
    after = report_json(staff_client, mixed_study, "n_boot=0")["ratings"]
    names = [r["rater"] for r in before["raters"]]
    assert [r["rater"] for r in after["raters"]] == ["carol", *names]
    assert after["raters"][0]["mean"] == 2.0
    LabelJudgment.objects.filter(rater=carol).update(rating=5)
    changed = report_json(staff_client, mixed_study, "n_boot=0")["ratings"]
    assert changed["raters"][0]["mean"] == 5.0
