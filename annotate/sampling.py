"""Images sampled from a study's probe set beyond each neuron's top-k, for the whole-probe
metrics (`evaluation.reports.probe_set`).

The draw is per unit (layer, unit) and seeded by (seed, layer, unit), so every label set's
neuron of the unit, and its generic-label and shuffled-label sanity probes (which show
the unit's own images), get the same pictures, as they get the same top-k. The design is
`evaluation.probe_metrics.sampling.draw_sample`: m uniform from the rest of the probe set
(its distinct pictures, top-k left out) and per_stratum from each of q activation strata
that halve towards the top; each image stores its inclusion probability and the design.

Re-running with the same design adds images only to neurons that have none yet (e.g. a
label set imported since); a different design is refused where images were drawn already.
A unit an annotator has started is left as it is, so everyone rating a unit sees the same
images (as with distractors). A drawn picture that is already the neuron's distractor is
not added twice.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction

from annotate.annotation.members import settings_for
from annotate.importers.copy import copy_rows
from annotate.models import (
    Assignment,
    LayerActivations,
    Neuron,
    NeuronImage,
    ProbeSetImage,
    Study,
)
from evaluation.probe_metrics.sampling import SampleDesign, draw_sample

SAMPLED_ROLES = (Neuron.Role.REAL, Neuron.Role.GENERIC_LABEL, Neuron.Role.SHUFFLED_LABEL)


class SamplingError(ValueError):
    """The study cannot be sampled as asked; nothing was changed."""


@dataclass
class SampleReport:
    units: int = 0
    neurons: int = 0  # neurons that got images now
    images: int = 0
    unchanged: int = 0  # neurons that had images of this design already
    started: int = 0  # neurons left as they were: an annotator has started them
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.images} images added to {self.neurons} neurons over {self.units} units; "
            f"{self.unchanged} neurons unchanged, {self.started} already being annotated"
        )
        return "; ".join([text, *self.notes])

    def as_dict(self) -> dict:
        keys = ("units", "neurons", "images", "unchanged", "started", "notes")
        return {key: getattr(self, key) for key in keys} | {"summary": self.summary()}


def check_sampling(study: Study) -> list[LayerActivations]:
    """The study's layer activations; refuses a study without a probe set or activations."""
    if study.probe_set_id is None:
        raise SamplingError(
            f"study {study.name!r} has no probe set: import one with import_probe_set and "
            "the layers' activations with import_activations first"
        )
    layers = list(LayerActivations.objects.filter(study=study, probe_set_id=study.probe_set_id))
    if not layers:
        raise SamplingError(
            f"study {study.name!r} has no activations on probe set {study.probe_set.name!r}: "
            "import them with import_activations first"
        )
    return sorted(layers, key=lambda layer: layer.layer)


def do_sample_probe_images(study: Study, design: SampleDesign) -> SampleReport:
    """Add the sampled images to every neuron of the study that has none. Takes a row lock
    on the study; checks everything before writing."""
    try:
        design.check()
    except ValueError as exc:
        raise SamplingError(str(exc)) from None
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        layers = check_sampling(study)
        report = SampleReport()
        pictures = _pictures(study.probe_set_id)
        plans = [_plan_layer(study, layer, pictures, design, report) for layer in layers]
        rows = [row for plan in plans for row in plan]
        copy_rows(
            NeuronImage,
            ["neuron", "image", "rank", "activation", "is_distractor", "is_sampled",
             "inclusion_probability", "sample_design"],
            rows,
        )  # fmt: skip
        report.images = len(rows)
    if report.images and not settings_for(study).shuffle_images:
        report.notes.append(
            "shuffle_images is off: annotators see the sampled images after the top-k"
        )
    return report


@dataclass(frozen=True)
class Pictures:
    """The probe set's distinct pictures (ids ascending) and, per row, its picture."""

    ids: np.ndarray
    of_row: np.ndarray  # position in `ids` of each row's picture


def _pictures(probe_set_id: int) -> Pictures:
    rows = np.fromiter(
        ProbeSetImage.objects.filter(probe_set_id=probe_set_id)
        .order_by("index")
        .values_list("image_id", flat=True)
        .iterator(chunk_size=20000),
        dtype=np.int64,
    )
    ids, of_row = np.unique(rows, return_inverse=True)
    return Pictures(ids, of_row)


def _plan_layer(study, layer: LayerActivations, pictures, design, report) -> list[tuple]:
    neurons = _neurons_by_unit(study, layer)
    images = _images_by_neuron([pk for unit in neurons.values() for pk in unit])
    started = _started([pk for unit in neurons.values() for pk in unit])
    rows: list[tuple] = []
    problems: list[str] = []
    for unit, members in sorted(neurons.items()):
        todo = []
        for pk in members:
            designs = images[pk]["designs"]
            if designs - {design.label}:
                problems.append(f"{layer.layer}:{unit} has images of design {min(designs)}")
            elif designs:
                report.unchanged += 1
            elif pk in started:
                report.started += 1
            else:
                todo.append(pk)
        if not todo or problems:
            continue
        drawn = _draw_unit(layer, unit, pictures, images[members[0]]["top"], design)
        report.units += 1
        for pk in todo:
            rows.extend(_rows_for(pk, drawn, images[pk], design))
            report.neurons += 1
    if problems:
        raise SamplingError(
            f"sampled images of another design exist ({len(problems)} neurons, e.g. "
            f"{problems[0]}); images once drawn are kept, as judgments rest on them"
        )
    return rows


def _neurons_by_unit(study: Study, layer: LayerActivations) -> dict[int, list[int]]:
    """Neuron ids per unit of the layer, real neurons first (their top-k is the unit's)."""
    query = Neuron.objects.filter(
        study=study, layer=layer.layer, role__in=SAMPLED_ROLES, unit__lt=layer.n_units
    )
    by_unit: dict[int, list[int]] = defaultdict(list)
    rows = query.values_list("unit", "role", "pk")
    for unit, _, pk in sorted(rows, key=lambda r: (r[0], r[1] != Neuron.Role.REAL, r[2])):
        by_unit[unit].append(pk)
    return by_unit


def _images_by_neuron(ids: list[int]) -> dict[int, dict]:
    found: dict[int, dict] = defaultdict(
        lambda: {"top": set(), "other": set(), "designs": set(), "last": 0}
    )
    rows = NeuronImage.objects.filter(neuron_id__in=ids).values_list(
        "neuron_id", "image_id", "rank", "is_sampled", "sample_design", "is_distractor"
    )
    for neuron_id, image, rank, sampled, label, distractor in rows.iterator(chunk_size=20000):
        entry = found[neuron_id]
        entry["other" if sampled or distractor else "top"].add(image)
        entry["last"] = max(entry["last"], rank)
        if sampled:
            entry["designs"].add(label)
    return found


def _started(ids: list[int]) -> set[int]:
    """Neurons leased to an annotator at any time: a gold lease moves no counter, and a
    late answer to an expired lease is still taken, so the leases themselves are asked."""
    leased = Assignment.objects.filter(unit_id__in=ids).values_list("unit_id", flat=True)
    return set(leased.distinct())


def _draw_unit(layer, unit: int, pictures: Pictures, top: set[int], design) -> list[tuple]:
    """(picture id, activation, inclusion probability) of the unit's draw."""
    per_row = np.asarray(layer.read_unit(unit), dtype=np.float64)
    # A picture at several rows has one activation per row (the same, for one network):
    # it stands for the highest.
    activation = np.full(pictures.ids.shape[0], -np.inf)
    np.maximum.at(activation, pictures.of_row, per_row)
    rest = np.flatnonzero(~np.isin(pictures.ids, np.fromiter(top, dtype=np.int64)))
    seed = [design.seed, zlib.crc32(layer.layer.encode()), unit]
    positions, chance = draw_sample(activation[rest], design, np.random.default_rng(seed))
    chosen = rest[positions]
    return list(zip(pictures.ids[chosen].tolist(), activation[chosen].tolist(),
                    chance.tolist(), strict=True))  # fmt: skip


def _rows_for(neuron_id: int, drawn: list[tuple], images: dict, design) -> list[tuple]:
    kept = [d for d in drawn if d[0] not in images["other"]]
    return [
        (neuron_id, image, images["last"] + i, activation, False, True, chance, design.label)
        for i, (image, activation, chance) in enumerate(kept, start=1)
    ]
