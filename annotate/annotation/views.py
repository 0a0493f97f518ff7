"""Annotation pages and their JSON endpoints; each view makes one call into the domain."""

import json
import time
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotate.annotation import members
from annotate.annotation.assignment import access_next_unit, do_expire_leases
from annotate.annotation.forms import AnnotationSettingsForm, DistractorForm, SignUpForm
from annotate.annotation.image_ids import image_id as opaque_id
from annotate.annotation.progress import annotator_rows, study_summary, unit_page
from annotate.annotation.quality import GoldError, do_add_distractors
from annotate.annotation.questions import LABEL_ANSWER_KEYS
from annotate.annotation.submission import (
    SubmissionConflict,
    SubmissionError,
    do_submit_unit,
    do_undo_submission,
    recent_answers,
    undo_seconds,
)
from annotate.annotation.units import do_sync_units, unit_counts
from annotate.models import Assignment, Invite, NeuronImage

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
RATING_WORDS = {1: "not at all", 2: "poorly", 3: "partly", 4: "well", 5: "perfectly"}


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
    config = members.settings_for(study)
    counts = unit_counts(study)
    context = {"study": study, "settings": config, "counts": counts}
    context["total"] = config.quota or counts.units  # the annotator's share, or all units
    context["question_template"] = f"annotation/questions/{study.question_type}.html"
    context["ratings"] = RATING_WORDS.items()
    return render(request, "annotation/annotate.html", context)


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
        label_answer={key: body.get(key) for key in LABEL_ANSWER_KEYS if key in body},
        order_shown=body.get("order_shown") or [],
        ms_spent=body.get("ms_spent"),
    )


@require_POST
@json_endpoint
def undo(request, study, body):
    return do_undo_submission(request.user, study, body.get("client_id"))


@require_GET
@json_endpoint
def answers(request, study, body):
    return {"answers": recent_answers(request.user, study), "undo_seconds": undo_seconds()}


@require_GET
@login_required
def unit_image(request, study_id: int, lease_id: int, image_id: str):
    """An image of a unit leased to this annotator, by its opaque per-lease id."""
    study = members.access_annotation_study(request.user, study_id)
    lease = get_object_or_404(Assignment, pk=lease_id, annotator=request.user, study=study)
    pairs = NeuronImage.objects.filter(neuron_id=lease.unit_id).values_list("pk", flat=True)
    pair = {opaque_id(lease.pk, p): p for p in pairs}.get(image_id)
    if pair is None:
        raise Http404("No such image.")
    ni = NeuronImage.objects.select_related("image").get(pk=pair)
    kind = f"image/{ni.image.format.lower()}"
    response = FileResponse(ni.image.file.open("rb"), content_type=kind)
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


def join(request, token: str):
    """An account invite: explains the study, lets a newcomer sign up or log in, and joins
    only on a POST (a GET changes nothing)."""
    invite = members.access_invite(token, Invite.Kind.ACCOUNT)
    user = request.user
    if user.is_authenticated and invite.study.annotators.filter(user=user).exists():
        return redirect("annotation-page", invite.study_id)
    form = SignUpForm(request.POST if request.POST.get("action") == "signup" else None)
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("action") == "join" and user.is_authenticated:
                members.do_join_study(user, invite)
                return redirect("annotation-page", invite.study_id)
            if form.is_valid():
                data = form.cleaned_data
                membership = members.do_sign_up_and_join(
                    invite, data["username"], data["password1"]
                )
                login(request, membership.user, backend=MODEL_BACKEND)
                return redirect("annotation-page", invite.study_id)
        except members.InviteError as exc:
            error = str(exc)
    context = {"invite": invite, "study": invite.study, "form": form, "error": error}
    return render(request, "annotation/join.html", context, status=400 if error else 200)


CROWD_COOKIE_SALT = "neuronjudge.annotation.crowd"
CROWD_COOKIE_DAYS = 30


def crowd_cookie(study_id: int) -> str:
    return f"nj-crowd-{study_id}"


def crowd(request, token: str):
    """Prolific / MTurk arrival: a page to start from (GET changes nothing, not even who is
    logged in); the POST makes or finds the anonymous annotator and signs this browser in."""
    invite = members.access_invite(token, Invite.Kind.CROWD)
    params = request.POST if request.method == "POST" else request.GET
    try:
        members.check_crowd_params(params)
        if request.method != "POST":
            context = {"invite": invite, "params": crowd_fields(params)}
            return render(request, "annotation/crowd_start.html", context)
        proven = request.get_signed_cookie(
            crowd_cookie(invite.study_id),
            default=None,
            salt=CROWD_COOKIE_SALT,
            max_age=CROWD_COOKIE_DAYS * 86400,
        )
        membership = members.do_join_crowd(invite, params, int(proven) if proven else None)
    except members.InviteError as exc:
        status = 403 if isinstance(exc, members.NotTheSameParticipant) else 400
        return render(request, "annotation/crowd_error.html", {"error": exc}, status=status)
    login(request, membership.user, backend=MODEL_BACKEND)
    response = redirect("annotation-page", invite.study_id)
    response.set_signed_cookie(
        crowd_cookie(invite.study_id),
        str(membership.pk),
        salt=CROWD_COOKIE_SALT,
        max_age=CROWD_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


def crowd_fields(params) -> list[tuple[str, str]]:
    """The platform's URL parameters, carried through the start page's form."""
    names = [*members.CROWD_PARAMS.values(), *members.SESSION_PARAMS.values(), "STUDY_ID"]
    names += ["hitId", "turkSubmitTo"]
    return [(name, params[name]) for name in names if params.get(name)]


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
        "invites": study.invites.filter(is_active=True)
        .annotate(joined=Count("studyannotator"))
        .order_by("-created"),
        "summary": study_summary(study),
        "counts": unit_counts(study),
        "annotators": annotator_rows(study, config.min_gold_accuracy),
        "units": unit_page(study, request.GET.get("page", 1)),
    }
    return render(request, "annotation/manage.html", context)


def manage_action(request, study, config):
    """One staff action; returns the bound settings form when it has errors, else None."""
    action = request.POST.get("action")
    if action == "invite":
        try:
            cap = request.POST.get("max_participants") or None
            kind = request.POST.get("kind", "account")
            members.do_create_invite(study, request.user, kind, int(cap) if cap else None)
            messages.success(request, "Invite link created.")
        except (ValueError, members.InviteError) as exc:
            messages.error(request, f"No invite link made: {exc}")
    elif action == "revoke":
        try:
            members.do_revoke_invite(study, int(request.POST.get("invite", "")))
            messages.success(request, "Invite link revoked.")
        except (ValueError, Invite.DoesNotExist):
            messages.error(request, "No such invite link.")
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
