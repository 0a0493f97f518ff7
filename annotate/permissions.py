"""Who may reach what: one set of rules for the API and the pages.

Staff own studies and see every study. Annotators (accounts or crowd workers) reach only
the studies they were added to, the units given to them and their own judgments: never
another rater's verdict, human or model (blind rating). Anonymous users reach nothing.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from annotate.models import Study, StudyAnnotator


def is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def member_study_ids(user) -> set[int]:
    """Studies an annotator (account or crowd worker) was added to."""
    if not (user and user.is_authenticated):
        return set()
    return set(StudyAnnotator.objects.filter(user=user).values_list("study_id", flat=True))


def visible_studies(user) -> QuerySet[Study]:
    if is_staff(user):
        return Study.objects.all()
    return Study.objects.filter(pk__in=member_study_ids(user))


def access_study(user, study_id: int, manage: bool = False) -> Study:
    """The study if `user` may see it (or, with `manage`, change it); 404 or 403 otherwise.

    A study the user may not see answers 404, so that its existence is not disclosed.
    """
    study = visible_studies(user).filter(pk=study_id).first()
    if study is None:
        raise Http404("No such study.")
    if manage and not is_staff(user):
        raise PermissionDenied("Only staff can change a study.")
    return study


def visible_judgments(user):
    """Staff see every judgment; anyone else only the judgments of their own human rater."""
    from evaluation.models import Judgment

    if is_staff(user):
        return Judgment.objects.all()
    if not (user and user.is_authenticated):
        return Judgment.objects.none()
    return Judgment.objects.filter(rater__user=user, rater__kind="human")
