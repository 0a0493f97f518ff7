"""Run pages: start a run from the study page, poll its status, cancel or resume it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotate.permissions import access_run, access_study
from evaluation.forms import StartRunForm
from evaluation.models import EvaluationRun
from evaluation.rater_configs import do_get_rater
from evaluation.run_actions import (
    QueueUnavailable,
    RunRefused,
    do_cancel_run,
    do_resume_run,
    do_start_run,
)


def run_status(run: EvaluationRun) -> dict:
    return {
        "id": run.pk,
        "rater": run.rater.name,
        "status": run.status,
        "done_pairs": run.done_pairs,
        "total_pairs": run.total_pairs,
        "progress": round(run.progress, 4),
        "wall_seconds": run.wall_seconds,
        "stage_seconds": run.stage_seconds,
        "notes": run.notes,
        "error": run.error,
    }


@login_required
@require_POST
def start_run(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, need="manage")
    form = StartRunForm(request.POST, question=study.question_type)
    if not form.is_valid():
        # The errors themselves: as_text() would add field-name lines and escape them twice.
        for error in form.errors.get("__all__", []) or [
            error for errors in form.errors.values() for error in errors
        ]:
            messages.error(request, f"Run not started: {error}")
        return redirect("study-detail", study_id=study.pk)
    rater = do_get_rater(form.cleaned_data["kind"], form.cleaned_data["params"])
    try:
        run = do_start_run(study, rater, form.cleaned_data["options"], request.user)
    except (RunRefused, QueueUnavailable) as exc:
        messages.error(request, f"Run not started: {exc}")
    else:
        messages.success(request, f"Run {run.pk} of {rater.name} queued.")
    return redirect("study-detail", study_id=study.pk)


def _note_text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{_words(k)}: {_note_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(map(_note_text, value))
    return str(value)


def _words(name: str) -> str:
    return name.replace("_", " ")


def _readable(notes: dict) -> list[dict]:
    """Notes as words: a dict note (the encoder, its preprocessing) becomes one line per key."""
    return [
        {
            "name": _words(name),
            "text": _note_text(value),
            "parts": [(_words(k), _note_text(v)) for k, v in value.items()]
            if isinstance(value, dict)
            else [],
        }
        for name, value in notes.items()
    ]


@login_required
def status(request: HttpRequest, run_id: int) -> JsonResponse:
    """Members only: a model's progress is no business of blind annotators."""
    run = access_run(request.user, run_id, need="view")
    return JsonResponse(run_status(run))


@login_required
def detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id, need="view")
    return render(
        request,
        "evaluation/run_detail.html",
        {"run": run, "notes": _readable(run.notes), "chunks": run.chunks.order_by("index")[:500]},
    )


@login_required
@require_POST
def cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id, need="manage")
    if do_cancel_run(run.pk):
        messages.success(request, f"Run {run.pk} cancelled; judgments made so far are kept.")
    return redirect("study-detail", study_id=run.study_id)


@login_required
@require_POST
def resume(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id, need="manage")
    try:
        do_resume_run(run.pk)
    except (RunRefused, QueueUnavailable) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Run {run.pk} resumed.")
    return redirect("study-detail", study_id=run.study_id)
