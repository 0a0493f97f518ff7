"""A small study that alice and bob annotate; charlie is in no study."""

import uuid

import pytest

from annotate.annotation.members import do_create_invite, do_join_study
from annotate.models import AnnotationSettings


@pytest.fixture
def study(make_study, staff, annotators):
    study = make_study("annotated", neurons=6, k=3)
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0)
    invite = do_create_invite(study, staff)
    for name in ("alice", "bob"):
        do_join_study(annotators[name], invite)
    return study


def answer_all(unit: dict, verdict: str = "yes") -> dict:
    """The submit arguments answering every image of a unit payload with one verdict."""
    ids = [img["id"] for img in unit["images"]]
    return {
        "client_id": uuid.uuid4(),
        "neuron_id": unit["neuron"],
        "answers": {i: verdict for i in ids},
        "order_shown": ids,
        "ms_spent": 1500,
    }


def configure(study, **fields) -> None:
    """Change a study's annotation settings (and the copy the study object holds)."""
    from annotate.annotation.members import settings_for

    config = settings_for(study)
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()


def pairs_shown(user, unit: dict) -> dict:
    """Opaque image id of a unit payload -> the (neuron, image) pair id it stands for."""
    from annotate.annotation.image_ids import image_id
    from annotate.models import Assignment, NeuronImage

    lease = Assignment.objects.get(annotator=user, unit_id=unit["neuron"])
    pairs = NeuronImage.objects.filter(neuron_id=unit["neuron"]).values_list("pk", flat=True)
    return {image_id(lease.pk, pair): pair for pair in pairs}
