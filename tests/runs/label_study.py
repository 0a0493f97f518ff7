"""A label-rating study for the run tests: two label sets over the same units and images,
plus what a label run must leave out (a distractor, a sampled image, a probe neuron)."""

from __future__ import annotations

from annotate.images import do_store_image
from annotate.models import LabelSet, Neuron, NeuronImage, Study
from tests.helpers import png_bytes

FIRST = ["red", "dog", "blue sky"]
SECOND = ["crimson", "puppy", "ocean"]


def label_rating_study(make_study, name: str = "rated", k: int = 3) -> Study:
    study = make_study(name=name, neurons=len(FIRST), k=k, labels=FIRST)
    Study.objects.filter(pk=study.pk).update(question_type=Study.QuestionType.LABEL_RATING)
    study.refresh_from_db()
    second = LabelSet.objects.create(study=study, name="second")
    for neuron, label in zip(study.neurons.order_by("unit"), SECOND, strict=True):
        twin = Neuron.objects.create(
            study=study, label_set=second, layer=neuron.layer, unit=neuron.unit, label=label
        )
        for pair in neuron.images.all():
            NeuronImage.objects.create(neuron=twin, image=pair.image, rank=pair.rank)
    first = study.neurons.filter(label_set__name=second.name).order_by("unit").first()
    extra = do_store_image(png_bytes((1, 2, 3), seed=999))
    NeuronImage.objects.create(neuron=first, image=extra, rank=k + 1, is_distractor=True)
    sampled = do_store_image(png_bytes((3, 2, 1), seed=998))
    NeuronImage.objects.create(
        neuron=first, image=sampled, rank=k + 2, is_sampled=True, inclusion_probability=0.5
    )
    probe = Neuron.objects.create(
        study=study, label_set=second, layer="layer1", unit=0, label="thing",
        role=Neuron.Role.GENERIC_LABEL, source=first,
    )  # fmt: skip
    NeuronImage.objects.create(neuron=probe, image=extra, rank=1)
    return study


def real_labels(study: Study) -> list[Neuron]:
    return list(study.neurons.filter(role=Neuron.Role.REAL).order_by("pk"))


def top_images(neuron: Neuron) -> list[str]:
    shown = neuron.images.filter(is_distractor=False, is_sampled=False).order_by("rank")
    return list(shown.values_list("image__sha256", flat=True))
