"""Finding a study's label sets: the one an import or a report names, or its first."""

from __future__ import annotations

from annotate.models import LabelSet, Study


def default_label_set_name(method: str) -> str:
    """The name a study's first label set gets (the database trigger uses the same)."""
    return Study.Method(method).label if method in Study.Method.values else "labels"


def do_get_label_set(
    study: Study, name: str | None = None, *, method: str = ""
) -> tuple[LabelSet, bool]:
    """The label set `name` of `study` (its first when `name` is None), created when it
    does not exist yet. Returns (label set, created)."""
    if name is None:
        first = study.label_sets.order_by("pk").first()
        if first is not None:
            return first, False
        name, method = default_label_set_name(study.method), study.method
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("a label set's name must be 1 to 200 characters")
    return LabelSet.objects.get_or_create(study=study, name=name, defaults={"method": method})


def access_label_set(study: Study, name: str) -> LabelSet:
    """The label set called `name` in `study`, or LabelSet.DoesNotExist."""
    return LabelSet.objects.get(study=study, name=name)
