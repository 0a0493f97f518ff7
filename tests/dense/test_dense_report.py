"""The report's whole-probe section shows a dense rater's exact metrics beside the sampled
estimates: the means over neurons of `dense_probe_metrics`, per layer and overall."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from annotate.models import Study
from evaluation.dense_scores import dense_probe_metrics
from evaluation.reports.cache import get_study_report, options_in_force
from evaluation.reports.options import check_report_options
from tests.dense.helpers import probe_study, raters, run_in_process, use_tiny_clip

pytestmark = pytest.mark.django_db


def test_dense_rows_are_the_exact_metrics_averaged_over_neurons(tmp_path, monkeypatch, staff):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    Study.objects.filter(pk=study.pk).update(probe_alpha=0.1)
    study.refresh_from_db()
    es, _ = raters()
    run_in_process(study, es, {"dense": True, "pairs": False}, monkeypatch)
    exact = dense_probe_metrics(study, es)
    report = get_study_report(study, options_in_force(study, check_report_options({})))
    rows = {(r["layer"], r["role"]): r for r in report["probe_set"]["dense"]}
    for layer, result in exact.items():
        row = rows[(layer, "real")]
        assert row["rater"] == es.name and row["n"] == len(result.neuron_ids)
        for name, values in result.metrics.items():
            assert row[name]["mean"] == pytest.approx(float(np.mean(values)), abs=1e-9), name
            assert row[name]["low"] <= row[name]["mean"] <= row[name]["high"]
    every = np.concatenate([r.metrics["f1"] for r in exact.values()])
    assert rows[("Overall", "real")]["f1"]["mean"] == pytest.approx(float(every.mean()))


def test_the_report_page_shows_the_dense_table(tmp_path, monkeypatch, client, staff):
    use_tiny_clip(monkeypatch)
    study = probe_study(tmp_path)
    es, _ = raters()
    run_in_process(study, es, {"dense": True}, monkeypatch)  # the pairs too: the top-k part
    client.force_login(staff)
    page = client.get(reverse("study-report", args=[study.pk])).content.decode()
    assert "Scored on every image (dense model ratings)" in page
    assert page.count('class="grid compact probe-set-dense"') == 1
