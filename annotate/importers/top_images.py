"""Setting a layer's neurons' top-k images from probe-set rows ranked elsewhere (activations,
MILAN exemplars): neurons a unit lacks are created unlabelled, images that changed are
replaced, and images that judgments or gold answers rest on are never replaced.

The caller holds a row lock on the study and runs this inside its transaction.
"""

from __future__ import annotations

from annotate.importers.copy import copy_rows
from annotate.importers.errors import ImportReport, Problems, fail
from annotate.label_sets import do_get_label_set
from annotate.models import GoldAnswer, Neuron, NeuronImage, ProbeSet, Study

Top = list[tuple[int, float]]  # (image id, activation), best first


def find_probe_set(name: str, file: str) -> ProbeSet:
    probe_set = ProbeSet.objects.filter(name=name).first()
    if probe_set is None:
        raise fail(file, f"no probe set called {name!r}; import it with import_probe_set")
    return probe_set


def check_study_probe_set(study: Study, probe_set: ProbeSet, file: str) -> None:
    """A study's images all come from one probe set."""
    if study.probe_set_id not in (None, probe_set.pk):
        raise fail(
            file, f"study {study.name!r} is on probe set {study.probe_set.name!r}, "
            f"not {probe_set.name!r}",
        )  # fmt: skip


def do_replace_top_images(
    study: Study, layer: str, tops: dict[int, Top], file: str, report: ImportReport
) -> None:
    """Give every neuron of each unit in `tops` (every label set's) those top images,
    counting created, updated and unchanged units on `report`."""
    neurons, created = _ensure_neurons(study, layer, set(tops))
    changed = _plan(neurons, tops, file)
    report.created = len({neurons[pk] for pk in created})
    report.updated = len({neurons[pk] for pk in changed.keys() - created})
    report.unchanged = len(tops) - report.created - report.updated
    NeuronImage.objects.filter(neuron_id__in=list(changed), is_distractor=False).delete()
    copy_rows(
        NeuronImage,
        ["neuron", "image", "rank", "activation", "is_distractor"],
        (
            (pk, image, rank, activation, False)
            for pk, top in changed.items()
            for rank, (image, activation) in enumerate(top, start=1)
        ),
    )


def _ensure_neurons(study: Study, layer: str, units: set[int]) -> tuple[dict[int, int], set[int]]:
    """The unit of each neuron of `units` in every label set of the study, and the ids of
    those created here: units no label set has yet go into the study's first label set,
    unlabelled (their labels come with import_labels)."""

    def existing() -> dict[int, int]:
        rows = (
            Neuron.objects.filter(
                study=study, layer=layer, role=Neuron.Role.REAL, unit__lte=max(units, default=-1)
            )
            .values_list("pk", "unit")
            .iterator(chunk_size=20000)
        )
        return {pk: unit for pk, unit in rows if unit in units}

    found = existing()
    missing = sorted(units - set(found.values()))
    if missing:
        label_set, _ = do_get_label_set(study)
        copy_rows(
            Neuron,
            ["study", "label_set", "layer", "unit", "label", "role"],
            ((study.pk, label_set.pk, layer, unit, "", Neuron.Role.REAL) for unit in missing),
        )
    neurons = existing() if missing else found
    return neurons, set(neurons) - set(found)


def _plan(neurons: dict[int, int], tops: dict[int, Top], file: str) -> dict[int, Top]:
    """The neurons (unit by neuron id) whose top images change, with their new top;
    refuses changing images that judgments, submissions or gold answers rest on."""
    from evaluation.models import Judgment

    current: dict[int, Top] = {}
    distractors: dict[int, set[int]] = {}
    for neuron_id, image, activation, is_distractor, is_sampled in (
        NeuronImage.objects.filter(neuron_id__in=list(neurons))
        .order_by("neuron_id", "rank")
        .values_list("neuron_id", "image_id", "activation", "is_distractor", "is_sampled")
        .iterator(chunk_size=20000)
    ):
        if is_sampled:  # drawn from the rest: replaced with the top, never compared with it
            continue
        if is_distractor:
            distractors.setdefault(neuron_id, set()).add(image)
        else:
            current.setdefault(neuron_id, []).append((image, activation))
    changed = {pk: tops[unit] for pk, unit in neurons.items() if current.get(pk, []) != tops[unit]}
    unit_of = neurons
    problems = Problems()
    for pk, top in changed.items():
        if distractors.get(pk, set()) & {image for image, _ in top}:
            problems.add(file, None, f"unit {unit_of[pk]}: a top image is already its distractor")
    replaced = [pk for pk in changed if pk in current]
    held = set(
        Judgment.objects.filter(neuron_image__neuron_id__in=replaced)
        .values_list("neuron_image__neuron_id", flat=True)
        .distinct()
    ) | set(
        GoldAnswer.objects.filter(neuron_image__neuron_id__in=replaced).values_list(
            "neuron_image__neuron_id", flat=True
        )
    )
    for pk in sorted(held, key=unit_of.get):
        problems.add(
            file, None, f"unit {unit_of[pk]} has judgments or gold answers on the top images "
            "these would replace; import them into a new study",
        )  # fmt: skip
    problems.raise_if_any()
    return changed
