"""The demo study: neurons with planted concepts over the generated shapes probe set.

Each demo neuron's top-5 images all show one concept (a colour in layer1, a texture in
layer2, a shape in layer3, as real networks go from colour to texture to parts). Most are
labelled with that concept; a quarter are labelled with a wrong concept of the same kind
(e.g. "blue" on red images), so raters and humans have something to get right or wrong.
`DEMO_NEURONS` is the planted truth as plain data; `do_load_demo()` stores it through the
same importers users run, so loading it twice changes nothing.

The demo vocabulary is the colours, shapes and textures plus 300 unrelated English words
(every tenth word of CLIP-Dissect's 3k.txt, copied to `demo_words.txt`), so that concept
proportion ("is the label among the top p% of concepts for this image?") means something.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.demo_images import COLORS, SHAPES, TEXTURES, DemoImage, generate_probe_set
from annotate.importers.concepts import do_import_concept_set
from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import Study, StudyAnnotator

DEMO_SEED = 0
DEMO_K = 5
DEMO_STUDY = "Demo: synthetic shapes"
DEMO_CONCEPT_SET = "Demo vocabulary"
DEMO_USER = "demo"
PLANTED_TEXTURES = ("striped", "dotted", "checkered")  # "plain" is the absence of one
LAYERS = (  # layer, kind of concept, concepts, channels the units are drawn from
    ("layer1", "color", tuple(COLORS), 256),
    ("layer2", "texture", PLANTED_TEXTURES, 512),
    ("layer3", "shape", SHAPES, 1024),
)
UNITS_PER_LAYER = 8
WRONG_PER_LAYER = 2


@dataclass(frozen=True)
class DemoNeuron:
    layer: str
    unit: int
    kind: str  # "color", "texture" or "shape"
    concept: str  # planted: every one of its top-k images shows it
    label: str  # what the "dissection" called it
    score: float  # the method's similarity score
    images: tuple[int, ...]  # indexes into demo_probe_set(), rank 1 first
    activations: tuple[float, ...]

    @property
    def label_is_right(self) -> bool:
        return self.label == self.concept


def demo_probe_set() -> list[DemoImage]:
    return generate_probe_set(DEMO_SEED)


def probe_concepts(variants: int = 2) -> list[tuple[str, str, str]]:
    """(colour, shape, texture) of each probe image, in generate_probe_set's order, without
    drawing them (so importing this module stays cheap)."""
    return [
        (color, shape, texture)
        for shape in SHAPES
        for color in COLORS
        for texture in TEXTURES
        for _ in range(variants)
    ]


def plan_demo_neurons(seed: int = DEMO_SEED) -> tuple[DemoNeuron, ...]:
    rng = random.Random(f"demo-neurons:{seed}")
    probe = probe_concepts()
    neurons = []
    for layer, kind, concepts, channels in LAYERS:
        units = sorted(rng.sample(range(channels), UNITS_PER_LAYER))
        wrong = set(rng.sample(range(UNITS_PER_LAYER), WRONG_PER_LAYER))
        for i, unit in enumerate(units):
            concept = concepts[i % len(concepts)]
            label = rng.choice([c for c in concepts if c != concept]) if i in wrong else concept
            showing = [n for n, concepts_shown in enumerate(probe) if concept in concepts_shown]
            activations = sorted(round(rng.uniform(2.0, 9.0), 3) for _ in range(DEMO_K))
            neurons.append(
                DemoNeuron(
                    layer=layer,
                    unit=unit,
                    kind=kind,
                    concept=concept,
                    label=label,
                    score=round(rng.uniform(0.18, 0.32), 4),
                    images=tuple(rng.sample(showing, DEMO_K)),
                    activations=tuple(reversed(activations)),
                )
            )
    return tuple(neurons)


DEMO_NEURONS = plan_demo_neurons()


def demo_concepts() -> list[str]:
    words = (Path(__file__).with_name("demo_words.txt")).read_text().split("\n")
    vocabulary = [*COLORS, *SHAPES, *TEXTURES, *(w.strip() for w in words)]
    return [w for w in dict.fromkeys(vocabulary) if w]


def _labels_csv(neurons) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["layer", "unit", "description", "similarity"])
    writer.writerows([n.layer, n.unit, n.label, n.score] for n in neurons)
    return out.getvalue().encode()


def _images_zip_and_manifest(neurons, probe: list[DemoImage]) -> tuple[bytes, bytes]:
    lines, used = [], set()
    for n in neurons:
        for rank, (index, activation) in enumerate(zip(n.images, n.activations, strict=True), 1):
            used.add(index)
            row = {"layer": n.layer, "unit": n.unit, "rank": rank, "activation": activation}
            lines.append(json.dumps({**row, "path": _image_name(probe[index])}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index in sorted(used):
            archive.writestr(_image_name(probe[index]), probe[index].png)
    return buffer.getvalue(), "\n".join(lines).encode()


def _image_name(image: DemoImage) -> str:
    return f"{image.color}-{image.texture}-{image.shape}-{image.variant}.png"


def do_load_demo() -> Study:
    """Create (or leave as it is) the demo user, vocabulary and study. Idempotent."""
    with transaction.atomic():
        user = _demo_user()
        concept_set = do_import_concept_set(DEMO_CONCEPT_SET, "\n".join(demo_concepts()).encode())
        study, _ = Study.objects.get_or_create(
            name=DEMO_STUDY,
            defaults={
                "target_network": "demo network (planted concepts)",
                "probe_dataset": f"synthetic shapes, seed {DEMO_SEED}",
                "method": Study.Method.CLIP_DISSECT,
                "k": DEMO_K,
                "concept_set": concept_set,
                "owner": user,
                "is_demo": True,
                "notes": "Generated: each neuron's top images share one planted colour, "
                "texture or shape; about a quarter of the labels are deliberately wrong.",
            },
        )
        do_import_labels(study, _labels_csv(DEMO_NEURONS))
        images, manifest = _images_zip_and_manifest(DEMO_NEURONS, demo_probe_set())
        do_import_images(study, manifest, images)
    return study


def _demo_user():
    """A staff login for the local demo only (password "demo")."""
    user, created = get_user_model().objects.get_or_create(
        username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password("demo")
        user.save(update_fields=["password"])
    return user


GOLD_PER_LAYER = 1  # one neuron labelled right and, where there is one, one labelled wrong


def demo_gold_answers() -> dict[tuple[str, int], bool]:
    """Gold units from the planted truth: per layer, the first right and first wrong label."""
    answers: dict[tuple[str, int], bool] = {}
    for layer, *_ in LAYERS:
        in_layer = [n for n in DEMO_NEURONS if n.layer == layer]
        for is_right in (True, False):
            picks = [n for n in in_layer if n.label_is_right is is_right][:GOLD_PER_LAYER]
            answers.update({(n.layer, n.unit): n.label_is_right for n in picks})
    return answers


def do_prepare_demo_study(study: Study, start_runs: bool = True) -> str:
    """Sanity probes, gold units, the demo user as annotator, and the demo OpenCLIP runs.

    Each step is idempotent, so `load_demo` can run on every start.
    """
    from annotate.annotation.members import human_rater
    from annotate.annotation.quality import do_make_gold_units
    from evaluation.demo import do_setup_demo_raters
    from evaluation.sanity import do_create_sanity_probes

    probes = do_create_sanity_probes(study, per_layer=4, seed=DEMO_SEED)
    gold = do_make_gold_units(study, demo_gold_answers())
    user = _demo_user()
    StudyAnnotator.objects.get_or_create(study=study, user=user)  # so staff can try the page
    human_rater(user)
    raters = do_setup_demo_raters(study, start=start_runs)
    return (
        f"{sum(probes.created.values())} sanity probes added, {gold} gold units, "
        f"{len(raters)} demo OpenCLIP raters{' queued' if start_runs else ''}"
    )
