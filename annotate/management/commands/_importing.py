"""What the import commands share: turning ImportFailed into a non-zero exit that lists
every problem, and looking a study (or its owner) up by name."""

from django.core.management.base import CommandError

from annotate.importers import ImportFailed
from annotate.models import Study


def failed(exc: ImportFailed) -> CommandError:
    return CommandError(f"import refused, nothing was changed:\n{exc.text()}")


def find_owner(username: str):
    """The active staff member called `username`: a study made on the command line has no
    owner otherwise, and only superusers would see it."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not user.is_staff:
        raise CommandError(f"--owner: no active staff member called {username!r}")
    return user


def find_study(name: str) -> Study:
    study = Study.objects.filter(name=name).first()
    if study is None:
        raise CommandError(f"no study called {name!r}; create it with import_labels")
    return study
