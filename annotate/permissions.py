"""Who may reach what: one set of rules for the API, the pages and the annotation views.

A study belongs to its members: staff with a role on it (owner, manager or viewer).
Staff without a role see nothing of it; superusers see every study. Annotators (accounts or
crowd workers) reach only the studies they were added to, the units given to them and
their own judgments: never another rater's verdict, human or model (blind rating).
Anonymous users reach nothing. Archived studies are hidden from everyone.

`access_study(user, id, need=...)` answers "does not exist" and "not yours" with the same
404, so study ids cannot be probed; a member without the role a change needs gets 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from annotate.models import Study, StudyAnnotator, StudyRole

Role = StudyRole.Role

# What each level asks for; superusers pass every level.
#   see:    the study's record (the study list, its media): members and its annotators
#   view:   staff pages, reports, exports, runs: any role
#   manage: change, import, start/cancel/resume runs, invites, annotation settings
#   own:    members and deleting
ROLES_FOR = {
    "view": (Role.OWNER, Role.MANAGER, Role.VIEWER),
    "manage": (Role.OWNER, Role.MANAGER),
    "own": (Role.OWNER,),
}
NEEDS = ("see", *ROLES_FOR)


def is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def is_superuser(user) -> bool:
    return is_staff(user) and user.is_superuser


def member_study_ids(user) -> set[int]:
    """Studies an annotator (account or crowd worker) was added to."""
    if not (user and user.is_authenticated):
        return set()
    return set(StudyAnnotator.objects.filter(user=user).values_list("study_id", flat=True))


def visible_studies(user, need: str = "see") -> QuerySet[Study]:
    """The studies, not archived, on which `user` has at least the level `need`."""
    if need not in NEEDS:
        raise ValueError(f"need must be one of {', '.join(NEEDS)}, not {need!r}")
    live = Study.objects.filter(archived_at__isnull=True)
    if is_superuser(user):
        return live
    if not (user and user.is_authenticated and user.is_active):
        return live.none()
    allowed = Q(pk__in=[])
    if is_staff(user):  # a role gives nothing to an account that is no longer staff
        roles = ROLES_FOR.get(need, ROLES_FOR["view"])
        allowed |= Q(pk__in=StudyRole.objects.filter(user=user, role__in=roles).values("study"))
    if need == "see":
        allowed |= Q(pk__in=StudyAnnotator.objects.filter(user=user).values("study"))
    return live.filter(allowed)


def access_study(user, study_id, need: str = "view") -> Study:
    """The study if `user` has the level `need` on it (see ROLES_FOR).

    404 whether the study does not exist, is archived or is none of the user's business;
    403 when the user is a member whose role does not reach `need`.
    """
    try:
        study_id = int(study_id)
    except (TypeError, ValueError):
        raise Http404("No such study.") from None
    study = visible_studies(user, need).filter(pk=study_id).first()
    if study is not None:
        return study
    if need != "see" and visible_studies(user, "see").filter(pk=study_id).exists():
        raise PermissionDenied(f"Your role on this study does not allow this (needs {need}).")
    raise Http404("No such study.")


def access_run(user, run_id, need: str = "view"):
    """The evaluation run if `user` has the level `need` on its study; 404 as access_study."""
    from evaluation.models import EvaluationRun

    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise Http404("No such run.") from None
    study_id = EvaluationRun.objects.filter(pk=run_id).values_list("study_id", flat=True).first()
    if study_id is None:
        raise Http404("No such run.")
    try:
        access_study(user, study_id, need)
    except Http404:
        raise Http404("No such run.") from None
    return EvaluationRun.objects.select_related("rater", "study").get(pk=run_id)


def visible_judgments(user):
    """Members see the judgments of their studies and superusers every judgment; anyone
    else (annotators, crowd workers) only the judgments of their own human rater."""
    from evaluation.models import Judgment

    if is_superuser(user):
        return Judgment.objects.all()
    if not (user and user.is_authenticated):
        return Judgment.objects.none()
    own = Q(rater__user=user, rater__kind="human")
    if is_staff(user):
        return Judgment.objects.filter(own | Q(study__in=visible_studies(user, "view")))
    return Judgment.objects.filter(own)
