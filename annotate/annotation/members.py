"""Who may annotate a study: invites for accounts and crowd workers, and the check on each call."""

import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404

from annotate.models import AnnotationSettings, Invite, Study, StudyAnnotator
from annotate.permissions import access_study
from evaluation.models import Rater

# URL parameters each platform appends to the study link.
CROWD_PARAMS = {
    StudyAnnotator.Platform.PROLIFIC: "PROLIFIC_PID",
    StudyAnnotator.Platform.MTURK: "workerId",
}
MAX_PARTICIPANT_ID = 64


class InviteError(ValueError):
    pass


def settings_for(study: Study) -> AnnotationSettings:
    try:
        return study.annotation_settings
    except AnnotationSettings.DoesNotExist:
        return AnnotationSettings.objects.get_or_create(study=study)[0]


def access_annotation_study(user, study_id: int) -> Study:
    """The study if `user` annotates it; 404 otherwise, so other studies stay hidden.

    Staff annotate only the studies they joined through an invite link, like anyone else.
    """
    if not user.is_authenticated:
        raise PermissionDenied("Log in first.")
    membership = (
        StudyAnnotator.objects.select_related("study__annotation_settings")
        .filter(study_id=study_id, user=user, study__archived_at__isnull=True)
        .first()
    )
    if membership is None:
        raise Http404("You are not an annotator of this study.")
    return membership.study


def access_staff_study(user, study_id: int) -> Study:
    """The annotation management page: invites and settings are for owners and managers."""
    return access_study(user, study_id, need="manage")


def human_rater(user) -> Rater:
    """The annotator's rater, made on first use."""
    rater = Rater.objects.filter(user=user).first()
    if rater is not None:
        return rater
    try:
        with transaction.atomic():
            return Rater.objects.create(
                name=f"human:{user.username}", kind=Rater.Kind.HUMAN, user=user
            )
    except IntegrityError:
        return Rater.objects.get(user=user)


def do_create_invite(study: Study, created_by, kind: str = Invite.Kind.ACCOUNT) -> Invite:
    if kind not in Invite.Kind.values:
        raise InviteError(f"Unknown invite kind {kind!r}.")
    from annotate.annotation.units import do_sync_units

    do_sync_units(study)
    return Invite.objects.create(
        study=study, kind=kind, created_by=created_by, token=secrets.token_urlsafe(24)
    )


def access_invite(token: str, kind: str) -> Invite:
    invite = (
        Invite.objects.select_related("study")
        .filter(token=token, kind=kind, study__archived_at__isnull=True)
        .first()
    )
    if invite is None or not invite.is_active:
        raise Http404("This invite link is not valid any more.")
    return invite


def do_join_study(user, invite: Invite) -> StudyAnnotator:
    """Add an account holder to the invite's study (joining twice is harmless)."""
    membership, _ = StudyAnnotator.objects.get_or_create(
        study=invite.study, user=user, defaults={"invite": invite}
    )
    human_rater(user)
    return membership


def check_crowd_params(params) -> tuple[str, str]:
    """(platform, participant id) from the URL parameters Prolific or MTurk add."""
    for platform, name in CROWD_PARAMS.items():
        value = (params.get(name) or "").strip()
        if value:
            if len(value) > MAX_PARTICIPANT_ID or not value.replace("_", "").isalnum():
                raise InviteError(f"{name} must be letters and digits, at most 64 characters.")
            return platform, value
    raise InviteError("The link lacks a participant id (PROLIFIC_PID or workerId).")


def do_join_crowd(invite: Invite, params) -> StudyAnnotator:
    """The crowd worker's anonymous annotator for this study, made on first arrival."""
    platform, participant = check_crowd_params(params)
    existing = StudyAnnotator.objects.filter(
        study=invite.study, platform=platform, participant_id=participant
    ).first()
    if existing is not None:
        return existing
    username = f"{platform}-{invite.study_id}-{participant}"[:150]
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username, password=None)
            membership = StudyAnnotator.objects.create(
                study=invite.study,
                user=user,
                invite=invite,
                platform=platform,
                participant_id=participant,
                completion_code=completion_code(invite.study, platform),
            )
    except IntegrityError:  # the same worker arrived twice at once
        return StudyAnnotator.objects.get(
            study=invite.study, platform=platform, participant_id=participant
        )
    human_rater(membership.user)
    return membership


def completion_code(study: Study, platform: str) -> str:
    """Prolific expects the study's fixed code; MTurk workers get a code of their own."""
    code = settings_for(study).completion_code
    if platform == StudyAnnotator.Platform.PROLIFIC and code:
        return code
    return secrets.token_hex(5).upper()
