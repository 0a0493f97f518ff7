"""The demo study: neurons with planted concepts over the generated shapes probe set.

The probe set is every shape x colour x texture, DEMO_VARIANTS times (3,072 images of
64 x 64). Each demo neuron responds to one concept (a colour in layer1, a texture in
layer2, a shape in layer3, as real networks go from colour to texture to parts): its
activation is noise on every image plus a boost on the images showing its concept, so its
top-5 images all show it. Most are labelled with that concept; a quarter are labelled with
a wrong concept of the same kind (e.g. "blue" on red images), so raters and humans have
something to get right or wrong. `DEMO_NEURONS` is the planted truth as plain data;
`do_load_demo()` stores it through the same importers users run (labels, probe set,
activations, which set the top images), so loading it twice changes nothing.

The demo vocabulary is the colours, shapes and textures plus 300 unrelated English words
(every tenth word of CLIP-Dissect's 3k.txt, copied to `demo_words.txt`), so that concept
proportion ("is the label among the top p% of concepts for this image?") means something.
"""

from __future__ import annotations

import csv
import io
import random
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from annotate.demo_images import COLORS, SHAPES, TEXTURES, DemoImage, generate_probe_set
from annotate.importers.activations import do_import_activations
from annotate.importers.concepts import do_import_concept_set
from annotate.importers.labels import do_import_labels
from annotate.importers.probe_sets import do_import_probe_set
from annotate.models import LayerActivations, Study, StudyAnnotator
from evaluation.activations import top_k_indices

DEMO_SEED = 0
DEMO_K = 5
DEMO_VARIANTS = 32  # 6 colours x 4 shapes x 4 textures x 32 = 3,072 probe images
DEMO_STUDY = "Demo: synthetic shapes"
DEMO_PROBE_SET = "Demo shapes"
DEMO_CONCEPT_SET = "Demo vocabulary"
DEMO_USER = "demo"
# The top fraction of the probe set by activation that the whole-probe metrics call the
# neuron's images: a demo concept shows on 1/6 to 1/4 of the images, so 0.5% (Broden's
# hidden layers) would be a small corner of it.
DEMO_ALPHA = 0.1
PLANTED_TEXTURES = ("striped", "dotted", "checkered")  # "plain" is the absence of one
LAYERS = (  # layer, kind of concept, concepts; each layer has UNITS_PER_LAYER units
    ("layer1", "color", tuple(COLORS)),
    ("layer2", "texture", PLANTED_TEXTURES),
    ("layer3", "shape", SHAPES),
)
UNITS_PER_LAYER = 8
WRONG_PER_LAYER = 2
NOISE, BOOST = 0.3, (1.5, 3.0)  # activation: N(0, NOISE) on every image, + U(BOOST) on its concept


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


@lru_cache(maxsize=1)
def _probe_set() -> tuple[DemoImage, ...]:
    return tuple(generate_probe_set(DEMO_SEED, variants=DEMO_VARIANTS))


def demo_probe_set() -> list[DemoImage]:
    return list(_probe_set())


def probe_concepts(variants: int = DEMO_VARIANTS) -> list[tuple[str, str, str]]:
    """(colour, shape, texture) of each probe image, in generate_probe_set's order, without
    drawing them (so importing this module stays cheap)."""
    return [
        (color, shape, texture)
        for shape in SHAPES
        for color in COLORS
        for texture in TEXTURES
        for _ in range(variants)
    ]


def planted_concept(layer_concepts: tuple[str, ...], unit: int) -> str:
    return layer_concepts[unit % len(layer_concepts)]


def demo_activations(seed: int = DEMO_SEED) -> dict[str, np.ndarray]:
    """Layer -> `[n_images, UNITS_PER_LAYER]` float32 activations over the probe set, as a
    dissection tool saves them: noise, plus a boost on the images showing the unit's concept."""
    rng = np.random.default_rng(seed)
    probe = probe_concepts()
    layers = {}
    for layer, _, concepts in LAYERS:
        acts = rng.normal(0.0, NOISE, (len(probe), UNITS_PER_LAYER))
        for unit in range(UNITS_PER_LAYER):
            shows = np.array([planted_concept(concepts, unit) in p for p in probe])
            acts[shows, unit] += rng.uniform(*BOOST, int(shows.sum()))
        layers[layer] = acts.astype(np.float32)
    return layers


def plan_demo_neurons(seed: int = DEMO_SEED) -> tuple[DemoNeuron, ...]:
    rng = random.Random(f"demo-neurons:{seed}")
    activations = demo_activations(seed)
    neurons = []
    for layer, kind, concepts in LAYERS:
        wrong = set(rng.sample(range(UNITS_PER_LAYER), WRONG_PER_LAYER))
        for unit in range(UNITS_PER_LAYER):
            concept = planted_concept(concepts, unit)
            label = rng.choice([c for c in concepts if c != concept]) if unit in wrong else concept
            column = activations[layer][:, unit]
            top = top_k_indices(column, DEMO_K)
            neurons.append(
                DemoNeuron(
                    layer=layer,
                    unit=unit,
                    kind=kind,
                    concept=concept,
                    label=label,
                    score=round(rng.uniform(0.18, 0.32), 4),
                    images=tuple(int(i) for i in top),
                    activations=tuple(float(column[i]) for i in top),
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


def _image_name(index: int, image: DemoImage) -> str:
    return f"{index:05d}-{image.color}-{image.texture}-{image.shape}-{image.variant}.png"


def _write_probe_folder(root: Path) -> tuple[Path, Path]:
    """The images and an order file (row i = image i), which spares importing torchvision
    for ImageFolder's order: seconds of a demo start."""
    folder = root / "shapes"
    folder.mkdir(parents=True)
    names = []
    for index, image in enumerate(_probe_set()):
        names.append(_image_name(index, image))
        (folder / names[-1]).write_bytes(image.png)
    order = root / "order.txt"
    order.write_text("\n".join(names) + "\n")
    return folder, order


def do_load_demo_probe_set(study: Study) -> None:
    """The probe set and every layer's activations, through import_probe_set and
    import_activations (which set each neuron's top images). Skipped once stored."""
    stored = LayerActivations.objects.filter(study=study, probe_set__name=DEMO_PROBE_SET)
    if stored.count() == len(LAYERS):
        return
    with tempfile.TemporaryDirectory(prefix="neuronjudge-demo-") as temp:
        root = Path(temp)
        folder, order = _write_probe_folder(root)
        do_import_probe_set(DEMO_PROBE_SET, [folder], order)
        for layer, acts in demo_activations().items():
            np.save(root / f"{layer}.npy", acts)
            do_import_activations(study, DEMO_PROBE_SET, layer, root / f"{layer}.npy")
    if hasattr(Study, "probe_alpha"):  # the whole-probe metrics' cut, where studies have one
        Study.objects.filter(pk=study.pk).update(probe_alpha=DEMO_ALPHA)


def _set_aside_old_demo() -> None:
    """A demo study loaded before the demo had a probe set keeps its data under a new name."""
    old = Study.objects.filter(name=DEMO_STUDY, is_demo=True, probe_set__isnull=True).first()
    if old is not None and old.neurons.exists():
        old.name = f"{DEMO_STUDY} (before the probe set, {old.created:%Y-%m-%d})"
        old.save(update_fields=["name"])


def do_load_demo() -> Study:
    """Create (or leave as it is) the demo user, vocabulary and study. Idempotent."""
    with transaction.atomic():
        user = _demo_user()
        concept_set = do_import_concept_set(DEMO_CONCEPT_SET, "\n".join(demo_concepts()).encode())
        _set_aside_old_demo()
        study, _ = Study.objects.get_or_create(
            name=DEMO_STUDY,
            defaults={
                "target_network": "demo network (planted concepts)",
                "probe_dataset": f"synthetic shapes, seed {DEMO_SEED}, {DEMO_VARIANTS} variants",
                "method": Study.Method.CLIP_DISSECT,
                "k": DEMO_K,
                "concept_set": concept_set,
                "owner": user,
                "is_demo": True,
                "notes": "Generated: each neuron responds to one planted colour, texture or "
                "shape over the whole probe set; about a quarter of the labels are "
                "deliberately wrong.",
            },
        )
        do_import_labels(study, _labels_csv(DEMO_NEURONS))
        do_load_demo_probe_set(study)
    return Study.objects.get(pk=study.pk)


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
    """Sanity probes, gold units, the demo user as annotator, sampled images, and the demo
    OpenCLIP runs (their pairs and the whole probe set).

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
    sampled = do_sample_demo_images(study)
    raters = do_setup_demo_raters(study, start=start_runs)
    return (
        f"{sum(probes.created.values())} sanity probes added, {gold} gold units, {sampled}, "
        f"{len(raters)} demo OpenCLIP raters{' queued' if start_runs else ''}"
    )


DEMO_SAMPLE = {"random": 10, "strata": 4, "per_stratum": 2, "seed": DEMO_SEED}


def do_sample_demo_images(study: Study) -> str:
    """Images sampled from the probe set beyond each neuron's top-k, for human ratings on
    the whole probe set. A hook: it uses `annotate.sampling` where this version has it."""
    try:
        from annotate.sampling import do_sample_probe_images
        from evaluation.probe_metrics.sampling import SampleDesign
    except ImportError:
        return "no sampled images (sample_probe_images is not in this version)"
    report = do_sample_probe_images(study, SampleDesign(**DEMO_SAMPLE))
    return f"{report.images} sampled images added"
