"""Changing who owns a study, and deleting one: the caller has checked access with
`access_study(user, id, need="own")`.

A study with human judgments is never deleted: people's work cannot be made again. Its
owner (or a superuser) may archive it, naming it to confirm; an archived study is hidden
from every list and page, keeps all its data and is restored from the admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from annotate.models import Study, StudyRole


class OwnershipError(ValueError):
    """A refused change of members; nothing was changed."""


class DeleteRefused(ValueError):
    """A study with human judgments was asked to go without confirmation."""


@dataclass(frozen=True)
class DeleteOutcome:
    archived: bool
    human_judgments: int


def do_grant_owner(study: Study, user) -> None:
    """Make the creator of a new study its owner (call inside the creating transaction)."""
    if user is not None and user.is_authenticated:
        StudyRole.objects.get_or_create(study=study, user=user, defaults={"role": "owner"})


@transaction.atomic
def do_make_owner(study: Study, user) -> None:
    """Make a staff member an owner of the study (from the command line: the operator)."""
    StudyRole.objects.update_or_create(study=study, user=user, defaults={"role": "owner"})
    Study.objects.filter(pk=study.pk, owner__isnull=True).update(owner=user)


def study_members(study: Study) -> list[dict]:
    roles = StudyRole.objects.filter(study=study).select_related("user")
    order = {role: i for i, role in enumerate(StudyRole.Role.values)}
    rows = sorted(roles, key=lambda r: (order[r.role], r.user.username))
    return [{"user": r.user.username, "role": r.role} for r in rows]


def role_among(members: list[dict], user) -> str:
    """The user's role in `study_members`' list; "superuser" for a superuser without one."""
    mine = [m["role"] for m in members if m["user"] == user.get_username()]
    return mine[0] if mine else ("superuser" if user.is_superuser else "")


@transaction.atomic
def do_set_role(study: Study, username: str, role: str) -> None:
    """Add a staff member to the study, or change their role. A study keeps an owner."""
    if role not in StudyRole.Role.values:
        raise OwnershipError(f"role must be one of {', '.join(StudyRole.Role.values)}.")
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise OwnershipError(f"There is no active user called {username!r}.")
    if not user.is_staff:
        raise OwnershipError(f"{username} is not staff: annotators join through invite links.")
    _lock_roles(study)
    current = StudyRole.objects.filter(study=study, user=user).first()
    if current is not None and current.role == "owner" and role != "owner":
        _keep_an_owner(study, user)
    StudyRole.objects.update_or_create(study=study, user=user, defaults={"role": role})


@transaction.atomic
def do_remove_role(study: Study, username: str) -> None:
    _lock_roles(study)
    current = StudyRole.objects.filter(study=study, user__username=username).first()
    if current is None:
        raise OwnershipError(f"{username} is not a member of this study.")
    if current.role == "owner":
        _keep_an_owner(study, current.user)
    current.delete()


def _lock_roles(study: Study) -> None:
    """Two owners removing each other at once must not leave the study without one."""
    Study.objects.select_for_update().filter(pk=study.pk).first()


def _keep_an_owner(study: Study, leaving) -> None:
    others = StudyRole.objects.filter(study=study, role="owner").exclude(user=leaving)
    if not others.exists():
        raise OwnershipError("A study keeps at least one owner: make someone else owner first.")


def human_judgment_count(study: Study) -> int:
    from evaluation.models import Judgment

    return Judgment.objects.filter(study=study, rater__kind="human").count()


@transaction.atomic
def do_delete_study(study: Study, user, confirm: str | None) -> DeleteOutcome:
    """Delete a study without human judgments; archive one that has them, if `confirm`
    names the study. Raises DeleteRefused otherwise, changing nothing."""
    Study.objects.select_for_update().filter(pk=study.pk).first()
    humans = human_judgment_count(study)
    if not humans:
        study.delete()
        return DeleteOutcome(archived=False, human_judgments=0)
    if confirm != study.name:
        raise DeleteRefused(
            f"This study has {humans} human judgment(s), so it is archived, not deleted: "
            f"send confirm={study.name!r} to archive it. Its data are kept."
        )
    Study.objects.filter(pk=study.pk).update(archived_at=timezone.now(), archived_by=user)
    return DeleteOutcome(archived=True, human_judgments=humans)


def do_restore_study(study: Study) -> None:
    Study.objects.filter(pk=study.pk).update(archived_at=None, archived_by=None)
