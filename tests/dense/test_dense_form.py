"""The study page's start-run form offers the whole probe set where the study has one."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from evaluation.models import EvaluationRun, RunChunk
from evaluation.run_actions import do_plan_run
from tests.dense.helpers import probe_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    published = []
    monkeypatch.setattr("evaluation.run_actions._send", published.extend)
    return published


def test_the_form_starts_a_whole_probe_set_run(client, staff, tmp_path, sent):
    study = probe_study(tmp_path)
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert '<option value="dense_only">the whole probe set only</option>' in page
    form = {"kind": "openclip_es", "precision": "fp32", "model": "neuronjudge-demo-clip"}
    client.post(reverse("run-start", args=[study.pk]), {**form, "scope": "dense_only"})
    run = EvaluationRun.objects.get()
    assert run.options == {"dense": True, "pairs": False}
    do_plan_run(run.pk)
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert "<td>Whole probe set</td>" in page
    assert list(RunChunk.objects.values_list("kind", flat=True)) == ["dense"]


def test_the_form_shows_a_refused_dense_run(client, staff, tmp_path, sent):
    study = probe_study(tmp_path)
    client.force_login(staff)
    response = client.post(
        reverse("run-start", args=[study.pk]),
        {
            "kind": "vqa_blip2",
            "model": "Salesforce/blip2-flan-t5-xl",
            "precision": "fp32",
            "scope": "dense",
        },
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("rates sampled images only" in m for m in shown), shown
    assert not EvaluationRun.objects.exists()


def test_no_whole_probe_set_choice_without_a_probe_set(client, staff, make_study):
    study = make_study(neurons=1, k=2)
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert 'name="scope"' not in page
