"""A Describe-and-Dissect-shaped file, imported as it is, gives the E1-E2 agreement that
scikit-learn gives on the file's own columns: weighted kappa per method and overall, and
the yes/no kappa of ratings binarised at 4."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from django.core.management import call_command
from sklearn.metrics import cohen_kappa_score

from annotate.models import Study
from evaluation.agreement.ordinal import binarised_ratings, ordinal_agreement
from evaluation.label_judgments import rating_table
from tests.helpers import pairwise_over_one_group as pairwise_agreement
from tests.ratings.dnd_files import METHODS, dnd_file

pytestmark = pytest.mark.django_db
SCALE = [1, 2, 3, 4, 5]


def file_columns(data: bytes) -> dict[str, tuple[list[int], list[int]]]:
    """(E1, E2) ratings per method, read straight from the CSV."""
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    return {
        m: ([int(r[f"{m} E1 Rating"]) for r in rows], [int(r[f"{m} E2 Rating"]) for r in rows])
        for m in METHODS
    }


@pytest.fixture
def imported(tmp_path):
    generated = dnd_file(units={"layer2": 10, "layer3": 15, "layer4": 25}, seed=11)
    path = tmp_path / "human_evals.csv"
    path.write_bytes(generated.data)
    Study.objects.create(
        name="DnD ResNet-50", target_network="resnet50", probe_dataset="broden",
        question_type=Study.QuestionType.LABEL_RATING,
    )  # fmt: skip
    call_command(
        "import_judgments", str(path), "--study", "DnD ResNet-50", "--format", "dnd-human-evals"
    )
    return Study.objects.get(), file_columns(generated.data)


def test_quadratic_kappa_per_method_and_overall_equals_sklearn(imported):
    study, columns = imported
    table = rating_table(study)
    assert len(table) == 50 * 4 * 2
    found = {row.label_set: row for row in ordinal_agreement(table)}
    assert set(found) == {*METHODS, None}
    for method, (e1, e2) in columns.items():
        row = found[method]
        assert (row.first, row.second, row.n) == (f"human:imported-{study.pk}-E1",
                                                  f"human:imported-{study.pk}-E2", 50)  # fmt: skip
        expected = cohen_kappa_score(e1, e2, weights="quadratic", labels=SCALE)
        assert row.kappa_quadratic == pytest.approx(expected, abs=1e-12)
        linear = cohen_kappa_score(e1, e2, weights="linear", labels=SCALE)
        assert row.kappa_linear == pytest.approx(linear, abs=1e-12)
    all_e1 = [r for m in METHODS for r in columns[m][0]]
    all_e2 = [r for m in METHODS for r in columns[m][1]]
    expected = cohen_kappa_score(all_e1, all_e2, weights="quadratic", labels=SCALE)
    assert found[None].n == 200
    assert found[None].kappa_quadratic == pytest.approx(expected, abs=1e-12)
    assert 0.2 < expected < 0.95  # the generated evaluators agree, but not perfectly


def test_binarised_at_4_the_yes_no_kappa_equals_sklearn(imported):
    study, columns = imported
    table = rating_table(study)
    for method in (None, *METHODS):
        part = table if method is None else table[table["label_set"] == method]
        ratings = binarised_ratings(part, threshold=4)
        (pair,) = pairwise_agreement(
            ratings.votes, ratings.raters, ratings.item_neuron, len(ratings.neurons), n_boot=0
        )
        chosen = METHODS if method is None else [method]
        e1 = np.concatenate([columns[m][0] for m in chosen]) >= 4
        e2 = np.concatenate([columns[m][1] for m in chosen]) >= 4
        assert pair.n == len(e1)
        assert pair.kappa == pytest.approx(cohen_kappa_score(e1, e2), abs=1e-12)
