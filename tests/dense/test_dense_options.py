"""The dense option from the command line and the API."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import EvaluationRun, Rater, RunChunk
from evaluation.run_actions import do_plan_run
from tests.dense.helpers import probe_study, raters

pytestmark = pytest.mark.django_db


@pytest.fixture
def unsent(monkeypatch):
    sent = []
    monkeypatch.setattr("evaluation.run_actions._send", sent.extend)
    return sent


def test_start_run_dense_only_plans_dense_chunks_alone(tmp_path, unsent):
    study = probe_study(tmp_path)
    call_command(
        "start_run", "--study", study.name, "--kind", "openclip_es", "--dense-only",
        "--param", "model=neuronjudge-demo-clip", verbosity=0,
    )  # fmt: skip
    run = EvaluationRun.objects.get()
    assert run.options == {"dense": True, "pairs": False}
    assert run.total_pairs == 5 * 48
    do_plan_run(run.pk)
    assert list(RunChunk.objects.values_list("kind", "pairs")) == [("dense", 5 * 48)]


def test_start_run_dense_adds_dense_chunks_after_the_pairs(tmp_path, unsent):
    study = probe_study(tmp_path)
    call_command(
        "start_run", "--study", study.name, "--kind", "openclip_cp", "--dense",
        "--param", "model=neuronjudge-demo-clip", verbosity=0,
    )  # fmt: skip
    run = EvaluationRun.objects.get()
    assert run.options == {"dense": True}
    do_plan_run(run.pk)
    kinds = list(RunChunk.objects.order_by("index").values_list("kind", "pairs"))
    assert kinds == [("pairs", 15), ("dense", 5 * 48)]


def test_start_run_refuses_dense_for_a_vqa_rater(tmp_path, unsent, monkeypatch):
    study = probe_study(tmp_path)
    monkeypatch.setattr(
        "evaluation.management.commands.start_run.do_get_rater",
        lambda kind, params: Rater.objects.create(name="blip", kind=kind, params={}),
    )
    with pytest.raises(CommandError, match="rates sampled images only"):
        call_command("start_run", "--study", study.name, "--kind", "vqa_blip2", "--dense")
    assert not EvaluationRun.objects.exists()


def test_api_creates_a_dense_run_and_refuses_bad_options(tmp_path, unsent, client, staff):
    study = probe_study(tmp_path)
    es, _ = raters()
    study.owner = staff
    study.save(update_fields=["owner"])
    client.force_login(staff)
    bad = client.post(
        "/api/runs/", {"study": study.pk, "rater": es.pk, "options": {"dense": "yes"}},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400 and "dense must be true or false" in bad.content.decode()
    made = client.post(
        "/api/runs/", {"study": study.pk, "rater": es.pk, "options": {"dense": True}},
        content_type="application/json",
    )  # fmt: skip
    assert made.status_code == 201, made.content
    assert made.json()["options"] == {"dense": True}
    assert made.json()["total_pairs"] == 15 + 5 * 48
