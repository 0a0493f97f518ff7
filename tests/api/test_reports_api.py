"""Agreement reports and exports through the API: a hand-computed kappa, escaped CSV cells,
staff only."""

from __future__ import annotations

import csv
import io

import pytest

from evaluation.models import Judgment, Rater

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged_study(make_study):
    """Two automatic raters on four pairs: A says yes,yes,no,no and B yes,no,no,no.

    Cohen's kappa by hand: observed 3/4, expected 2/4*1/4 + 2/4*3/4 = 1/2, so
    kappa = (3/4 - 1/2) / (1 - 1/2) = 0.5; IoU of the yes sets = 1/2.
    """
    study = make_study("rep", neurons=2, k=2)
    first = Rater.objects.create(name="=HYPERLINK(evil)", kind="openclip_es")
    second = Rater.objects.create(name="cp", kind="openclip_cp")
    pairs = list(study.neurons.order_by("unit").values_list("images__id", flat=True))
    for rater, verdicts in ((first, "yynn"), (second, "ynnn")):
        for pair, v in zip(sorted(pairs), verdicts, strict=True):
            verdict = "yes" if v == "y" else "no"
            Judgment.objects.create(rater=rater, neuron_image_id=pair, verdict=verdict)
    return study


def test_kappa_matrix_matches_the_hand_computed_value(staff_api, judged_study):
    response = staff_api.get(f"/api/reports/{judged_study.pk}/matrix/?n_boot=0")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "metric": "kappa",
        "level": "pair",
        "raters": ["cp", "=HYPERLINK(evil)"],  # the report's own order: by kind
        "matrix": [[1.0, 0.5], [0.5, 1.0]],
    }
    iou = staff_api.get(f"/api/reports/{judged_study.pk}/matrix/?metric=iou&n_boot=0").json()
    assert iou["matrix"] == [[1.0, 0.5], [0.5, 1.0]]


def test_full_report_is_json(staff_api, judged_study):
    report = staff_api.get(f"/api/reports/{judged_study.pk}/?n_boot=0").json()
    assert [r["name"] for r in report["raters"]] == ["cp", "=HYPERLINK(evil)"]
    assert report["pair"]["pairwise"][0]["kappa"] == 0.5


def test_csv_exports_escape_formula_cells(staff_api, judged_study):
    response = staff_api.get(f"/api/reports/{judged_study.pk}/table/?table=raters&n_boot=0")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["name", "kind", "items", "yes_rate", "scored"]
    assert [row[0] for row in rows[1:]] == ["cp", "'=HYPERLINK(evil)"]
    long = staff_api.get(f"/api/reports/{judged_study.pk}/judgments/")
    lines = list(csv.reader(io.StringIO(b"".join(long.streaming_content).decode())))
    assert len(lines) == 1 + 8
    assert {line[9] for line in lines[1:]} == {"'=HYPERLINK(evil)", "cp"}


def test_bad_report_options_are_a_clear_400(staff_api, judged_study):
    response = staff_api.get(f"/api/reports/{judged_study.pk}/?n_boot=99999")
    assert response.status_code == 400
    assert response.json() == {"detail": "n_boot must be between 0 and 5000"}
    response = staff_api.get(f"/api/reports/{judged_study.pk}/matrix/?metric=vibes")
    assert response.json() == {"metric": "must be one of kappa, iou, ac1, percent, pabak"}


def test_reports_are_for_staff_only(as_user, api, judged_study, membership):
    membership(judged_study, "alice")
    response = as_user("alice").get(f"/api/reports/{judged_study.pk}/matrix/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Only staff can use this endpoint."}
    assert api.get(f"/api/reports/{judged_study.pk}/judgments/").status_code == 403


def test_a_study_without_judgments_has_nothing_to_report(staff_api, make_study):
    study = make_study("empty", neurons=2, k=1)
    response = staff_api.get(f"/api/reports/{study.pk}/")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "This study has no judgments yet, so there is no agreement to report."
    }
    matrix = staff_api.get(f"/api/reports/{study.pk}/matrix/").json()
    assert matrix == {"metric": "kappa", "level": "pair", "raters": [], "matrix": []}
