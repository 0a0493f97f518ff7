"""Who may annotate a study: invites for accounts and crowd workers, and the check on each call."""

import re
import secrets
from dataclasses import dataclass

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


def do_create_invite(
    study: Study, created_by, kind: str = Invite.Kind.ACCOUNT, max_participants: int | None = None
) -> Invite:
    if kind not in Invite.Kind.values:
        raise InviteError(f"Unknown invite kind {kind!r}.")
    extra = {} if max_participants is None else {"max_participants": max_participants}
    if extra and not 0 <= max_participants <= 100_000:
        raise InviteError("The number of participants must be between 0 and 100,000.")
    return Invite.objects.create(
        study=study, kind=kind, created_by=created_by, token=secrets.token_urlsafe(24), **extra
    )


def do_revoke_invite(study: Study, invite_id: int) -> Invite:
    """Close an invite link: nobody joins through it any more; who joined stays. Revoking
    twice is harmless. Invite.DoesNotExist for an invite of another study."""
    invite = Invite.objects.get(study=study, pk=invite_id)
    if invite.is_active:
        invite.is_active = False
        invite.save(update_fields=["is_active"])
    return invite


def access_invite(token: str, kind: str) -> Invite:
    invite = (
        Invite.objects.select_related("study")
        .filter(token=token, kind=kind, study__archived_at__isnull=True)
        .first()
    )
    if invite is None or not invite.is_active:
        raise Http404("This invite link is not valid any more.")
    return invite


class InviteFull(InviteError):
    pass


def check_room(invite: Invite) -> None:
    """Refuse a newcomer once the invite has added its share. The caller holds a row lock on
    the invite, so two arrivals at once cannot both take the last place."""
    joined = StudyAnnotator.objects.filter(invite=invite).count()
    if joined >= invite.max_participants:
        raise InviteFull("This study link has all the participants it takes.")


def do_join_study(user, invite: Invite) -> StudyAnnotator:
    """Add an account holder to the invite's study (joining twice is harmless)."""
    membership = StudyAnnotator.objects.filter(study=invite.study, user=user).first()
    if membership is None:
        with transaction.atomic():
            check_room(Invite.objects.select_for_update().get(pk=invite.pk))
            membership, _ = StudyAnnotator.objects.get_or_create(
                study=invite.study, user=user, defaults={"invite": invite}
            )
    human_rater(user)
    return membership


def do_sign_up_and_join(invite: Invite, username: str, password: str) -> StudyAnnotator:
    """A new account made from an invite link, added to its study. The caller has checked the
    username and password (Django's UserCreationForm)."""
    with transaction.atomic():
        check_room(Invite.objects.select_for_update().get(pk=invite.pk))
        user = get_user_model().objects.create_user(username, password=password)
        return do_join_study(user, invite)


PARTICIPANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
SESSION_PARAMS = {
    StudyAnnotator.Platform.PROLIFIC: "SESSION_ID",
    StudyAnnotator.Platform.MTURK: "assignmentId",
}
NO_SESSION = {"", "ASSIGNMENT_ID_NOT_AVAILABLE"}  # MTurk's preview


@dataclass(frozen=True)
class Arrival:
    platform: str
    participant: str
    session: str  # "" when the platform gave none


def check_crowd_params(params) -> Arrival:
    """Platform, participant id and session id from the URL parameters Prolific or MTurk add."""
    for platform, name in CROWD_PARAMS.items():
        value = (params.get(name) or "").strip()
        if value:
            session = (params.get(SESSION_PARAMS[platform]) or "").strip()
            for param, text in ((name, value), (SESSION_PARAMS[platform], session)):
                if text and not PARTICIPANT_ID.fullmatch(text):
                    raise InviteError(
                        f"{param} must be ASCII letters, digits, - or _, at most 64 characters."
                    )
            return Arrival(platform, value, "" if session in NO_SESSION else session)
    raise InviteError("The link lacks a participant id (PROLIFIC_PID or workerId).")


class NotTheSameParticipant(InviteError):
    pass


def check_returning(member: StudyAnnotator, arrival: Arrival, proven_member: int | None) -> None:
    """A participant id is no secret: coming back needs this browser's signed cookie
    (`proven_member`) or the session id the platform gave at the first arrival."""
    if proven_member == member.pk:
        return
    if member.platform_session and arrival.session == member.platform_session:
        return
    raise NotTheSameParticipant(
        "This participant has already started the study in another browser. Please continue "
        "in that browser, or open the study again from the platform's own link."
    )


def do_join_crowd(invite: Invite, params, proven_member: int | None = None) -> StudyAnnotator:
    """The crowd worker's anonymous annotator for this study, made on first arrival.

    `proven_member` is the membership this browser's signed cookie names, if any.
    """
    arrival = check_crowd_params(params)
    lookup = {"study": invite.study, "platform": arrival.platform}
    lookup["participant_id"] = arrival.participant
    existing = StudyAnnotator.objects.filter(**lookup).first()
    if existing is not None:
        check_returning(existing, arrival, proven_member)
        return existing
    username = f"{arrival.platform}-{invite.study_id}-{arrival.participant}"[:150]
    try:
        with transaction.atomic():
            check_room(Invite.objects.select_for_update().get(pk=invite.pk))
            user = get_user_model().objects.create_user(username, password=None)
            membership = StudyAnnotator.objects.create(
                **lookup,
                user=user,
                invite=invite,
                platform_session=arrival.session,
                completion_code=completion_code(invite.study, arrival.platform),
            )
    except IntegrityError:  # the same worker arrived twice at once
        existing = StudyAnnotator.objects.get(**lookup)
        check_returning(existing, arrival, proven_member)
        return existing
    human_rater(membership.user)
    return membership


def completion_code(study: Study, platform: str) -> str:
    """Prolific expects the study's fixed code; MTurk workers get a code of their own."""
    code = settings_for(study).completion_code
    if platform == StudyAnnotator.Platform.PROLIFIC and code:
        return code
    return secrets.token_hex(5).upper()
