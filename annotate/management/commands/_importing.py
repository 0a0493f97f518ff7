"""What the import commands share: turning ImportFailed into a non-zero exit that lists
every problem, and looking a study up by name."""

from django.core.management.base import CommandError

from annotate.importers import ImportFailed
from annotate.models import Study


def failed(exc: ImportFailed) -> CommandError:
    return CommandError(f"import refused, nothing was changed:\n{exc.text()}")


def find_study(name: str) -> Study:
    study = Study.objects.filter(name=name).first()
    if study is None:
        raise CommandError(f"no study called {name!r}; create it with import_labels")
    return study
