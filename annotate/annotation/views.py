"""Annotation pages and their JSON endpoints; each view makes one call into the domain."""

import json
import time
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotate.annotation import members
from annotate.annotation.assignment import access_next_unit, do_expire_leases
from annotate.annotation.forms import AnnotationSettingsForm, DistractorForm
from annotate.annotation.progress import annotator_rows, study_summary, unit_page
from annotate.annotation.quality import GoldError, do_add_distractors
from annotate.annotation.submission import (
    SubmissionConflict,
    SubmissionError,
    do_submit_unit,
    do_undo_submission,
)
from annotate.annotation.units import do_sync_units
from annotate.models import Invite, NeuronImage


def json_endpoint(view):
    """Session-authenticated JSON (CSRF checked by the middleware); errors as JSON, timed."""

    @wraps(view)
    def wrapper(request, study_id, *args, **kwargs):
        started = time.perf_counter()
        try:
            study = members.access_annotation_study(request.user, study_id)
            body = json.loads(request.body or b"{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise SubmissionError("Send a JSON object.")
            response = JsonResponse(view(request, study, body, *args, **kwargs))
        except json.JSONDecodeError:
            response = JsonResponse({"error": "The body is not valid JSON."}, status=400)
        except SubmissionConflict as exc:
            response = JsonResponse({"error": str(exc)}, status=409)
        except SubmissionError as exc:
            response = JsonResponse({"error": str(exc)}, status=400)
        except PermissionDenied as exc:
            response = JsonResponse({"error": str(exc) or "Not allowed."}, status=403)
        except Http404 as exc:
            response = JsonResponse({"error": str(exc) or "Not found."}, status=404)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response["Cache-Control"] = "no-store"
        return response

    return wrapper


@login_required
def annotate_page(request, study_id: int):
    study = members.access_annotation_study(request.user, study_id)
    do_sync_units(study)  # neurons imported since the invite become units
    return render(
        request,
        "annotation/annotate.html",
        {"study": study, "settings": members.settings_for(study)},
    )


@require_POST
@json_endpoint
def next_units(request, study, body):
    prefetch = body.get("prefetch", 1)
    if not isinstance(prefetch, int) or isinstance(prefetch, bool):
        raise SubmissionError("prefetch must be a whole number.")
    return access_next_unit(request.user, study, prefetch=prefetch)


@require_POST
@json_endpoint
def submit(request, study, body):
    return do_submit_unit(
        request.user,
        study,
        client_id=body.get("client_id"),
        neuron_id=body.get("neuron"),
        answers=body.get("answers"),
        order_shown=body.get("order_shown") or [],
        ms_spent=body.get("ms_spent"),
    )


@require_POST
@json_endpoint
def undo(request, study, body):
    return do_undo_submission(request.user, study, body.get("client_id"))


@require_GET
@login_required
def unit_image(request, study_id: int, neuron_image_id: int):
    """A unit's image, only to annotators of its study; the URL says nothing of its source."""
    study = members.access_annotation_study(request.user, study_id)
    ni = get_object_or_404(
        NeuronImage.objects.select_related("image"), pk=neuron_image_id, neuron__study=study
    )
    kind = f"image/{ni.image.format.lower()}"
    response = FileResponse(ni.image.file.open("rb"), content_type=kind)
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@login_required
def join(request, token: str):
    invite = members.access_invite(token, Invite.Kind.ACCOUNT)
    members.do_join_study(request.user, invite)
    return redirect("annotation-page", invite.study_id)


def crowd(request, token: str):
    """Prolific / MTurk arrival: an anonymous annotator from the participant id in the URL."""
    invite = members.access_invite(token, Invite.Kind.CROWD)
    try:
        membership = members.do_join_crowd(invite, request.GET)
    except members.InviteError as exc:
        return render(request, "annotation/crowd_error.html", {"error": exc}, status=400)
    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("annotation-page", invite.study_id)


@login_required
def manage(request, study_id: int):
    """Staff page: invite links, settings, gold accuracy, per-annotator and per-unit progress."""
    study = members.access_staff_study(request.user, study_id)
    config = members.settings_for(study)
    form = AnnotationSettingsForm(instance=config, initial={"overlap": study.overlap})
    if request.method == "POST":
        form = manage_action(request, study, config)
        if form is None:
            return redirect("annotation-manage", study.pk)
    else:
        do_sync_units(study)
        do_expire_leases(study)  # so "in progress" counts only live leases
    context = {
        "study": study,
        "form": form,
        "distractor_form": DistractorForm(),
        "invites": study.invites.filter(is_active=True).order_by("-created"),
        "summary": study_summary(study),
        "annotators": annotator_rows(study, config.min_gold_accuracy),
        "units": unit_page(study, request.GET.get("page", 1)),
    }
    return render(request, "annotation/manage.html", context)


def manage_action(request, study, config):
    """One staff action; returns the bound settings form when it has errors, else None."""
    action = request.POST.get("action")
    if action == "invite":
        members.do_create_invite(study, request.user, request.POST.get("kind", "account"))
        messages.success(request, "Invite link created.")
    elif action == "revoke":
        study.invites.filter(pk=request.POST.get("invite")).update(is_active=False)
        messages.success(request, "Invite link revoked.")
    elif action == "distractors":
        form = DistractorForm(request.POST)
        try:
            if not form.is_valid():
                raise GoldError("Give a share between 0 and 1.")
            added = do_add_distractors(study, form.cleaned_data["share"])
            messages.success(request, f"Added {added} distractor images.")
        except GoldError as exc:
            messages.error(request, str(exc))
    else:
        form = AnnotationSettingsForm(request.POST, instance=config)
        if not form.is_valid():
            return form
        form.save(study)
        messages.success(request, "Settings saved.")
    return None
