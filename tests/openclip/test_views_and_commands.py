"""Starting runs from the study page and from manage.py; the status endpoint; cancel."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from evaluation.models import EvaluationRun, Rater, RunStatus
from evaluation.raters.clip_spec import DEMO_MODEL

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Runs the views would publish to the broker, kept instead of sent. Publishing waits
    for a commit, so the tests that read this list run in real transactions."""
    published: list[int] = []

    def keep(messages):
        published.extend(run_id for name, run_id in messages if name.endswith("start_run"))

    monkeypatch.setattr("evaluation.run_actions._send", keep)
    return published


@pytest.mark.django_db(transaction=True)
def test_staff_starts_a_run_from_the_study_page(client, staff, make_study, sent):
    study = make_study(neurons=2, k=2)
    client.force_login(staff)
    response = client.post(
        reverse("run-start", args=[study.pk]),
        {
            "kind": "openclip_es",
            "model": DEMO_MODEL,
            "pretrained": "",
            "threshold": "0.3",
            "precision": "fp32",
            "batch_size": "8",
        },
        follow=True,
    )
    run = EvaluationRun.objects.get()
    assert sent == [run.pk]
    assert run.rater.kind == "openclip_es" and run.rater.params["threshold"] == 0.3
    assert run.rater.params["checkpoint_sha256"] and run.rater.params["pretrained"] is None
    assert run.options == {"batch_size": 8} and run.total_pairs == 4
    page = response.content.decode()
    assert f"Run {run.pk} of" in page and "demo model trained on synthetic shapes" in page
    assert reverse("run-status", args=[run.pk]) in page  # the progress bar polls it

    status = client.get(reverse("run-status", args=[run.pk])).json()
    assert status == {
        "id": run.pk,
        "rater": run.rater.name,
        "status": "queued",
        "done_pairs": 0,
        "total_pairs": 4,
        "progress": 0.0,
        "wall_seconds": None,
        "stage_seconds": {},
        "notes": {},
        "error": "",
    }
    client.post(reverse("run-cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


def test_bad_parameters_start_nothing_and_say_why(client, staff, make_study, sent):
    study = make_study(neurons=1, k=1)
    client.force_login(staff)
    response = client.post(
        reverse("run-start", args=[study.pk]),
        {"kind": "openclip_cp", "pretrained": "/no/such/file.pt", "precision": "fp32"},
        follow=True,
    )
    assert "does not exist" in response.content.decode()
    assert not EvaluationRun.objects.exists() and not Rater.objects.exists() and sent == []


@pytest.mark.django_db(transaction=True)
def test_second_run_of_same_rater_is_refused_on_the_page(client, staff, make_study, sent):
    study = make_study(neurons=1, k=1)
    client.force_login(staff)
    form = {"kind": "openclip_es", "model": DEMO_MODEL, "precision": "fp32"}
    client.post(reverse("run-start", args=[study.pk]), form)
    response = client.post(reverse("run-start", args=[study.pk]), form, follow=True)
    assert "already has a queued or running run" in response.content.decode()
    assert EvaluationRun.objects.count() == 1 and len(sent) == 1


def test_annotators_cannot_start_runs(client, annotators, make_study, sent):
    study = make_study(neurons=1, k=1)
    client.force_login(annotators["alice"])
    client.post(reverse("run-start", args=[study.pk]), {"kind": "openclip_es"})
    assert not EvaluationRun.objects.exists() and sent == []
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "Start a run" not in page


@pytest.mark.django_db(transaction=True)
def test_start_run_command(make_study, sent, capsys):
    study = make_study(name="cmd study", neurons=2, k=1, concepts=["red", "blue"])
    call_command(
        "start_run",
        "--study",
        "cmd study",
        "--kind",
        "openclip_cp",
        "--param",
        f"model={DEMO_MODEL}",
        "--param",
        "proportion=0.5",
        "--device",
        "cpu",
    )
    run = EvaluationRun.objects.get()
    assert run.study == study and run.rater.params["proportion"] == 0.5
    assert run.options == {"device": "cpu"} and sent == [run.pk]
    assert f"run {run.pk} queued" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already has a queued or running run"):
        call_command(
            "start_run",
            "--study",
            str(study.pk),
            "--kind",
            "openclip_cp",
            "--param",
            f"model={DEMO_MODEL}",
            "--param",
            "proportion=0.5",
        )
    with pytest.raises(CommandError, match="threshold must be a number"):
        call_command(
            "start_run",
            "--study",
            "cmd study",
            "--kind",
            "openclip_es",
            "--param",
            "threshold=high",
        )
    with pytest.raises(CommandError, match="no study"):
        call_command("start_run", "--study", "nope", "--kind", "openclip_es")


def test_resume_runs_command_requeues_failed_runs(
    make_study, monkeypatch, capsys, django_capture_on_commit_callbacks
):
    from evaluation import rater_configs, run_actions

    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(run_actions, "_send", sent.extend)
    study = make_study(neurons=2, k=1)
    rater = rater_configs.do_get_rater("openclip_es", {"model": DEMO_MODEL})
    run = run_actions.do_create_run(study, rater)
    chunk_ids = run_actions.do_plan_run(run.pk)
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("resume_runs")
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.error == ""
    assert sent == [("tasks.evaluation.rate_chunk", chunk_id) for chunk_id in chunk_ids]
    assert f"run {run.pk} resumed" in capsys.readouterr().out


def test_run_status_is_for_members_of_the_study_only(client, make_study, annotators):
    from evaluation.rater_configs import do_get_rater
    from evaluation.run_actions import do_create_run

    study = make_study(neurons=1, k=1)
    run = do_create_run(study, do_get_rater("openclip_es", {}))
    client.force_login(annotators["alice"])  # not a member: the same 404 as no such run
    assert client.get(reverse("run-status", args=[run.pk])).status_code == 404
