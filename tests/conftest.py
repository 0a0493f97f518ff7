"""Shared fixtures: three annotators with known permissions (alice, bob, charlie), staff, and
small studies built from images the tests generate."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests.helpers import give_to_staff, judge, png_bytes


@pytest.fixture(autouse=True, scope="session")
def _empty_cache():
    """Cache keys hold database ids and counters that restart with each test database, so
    entries left by an earlier run could be taken for this run's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def staff(django_user_model):
    """A lab member who owns every study the test builds with make_study (before or after
    this fixture); access-rule tests make members with other roles themselves."""
    from annotate.models import Study, StudyRole

    user = django_user_model.objects.create_user("staff", password="staff-pass", is_staff=True)
    for study in Study.objects.all():
        StudyRole.objects.get_or_create(study=study, user=user, defaults={"role": "owner"})
    return user


@pytest.fixture
def annotators(django_user_model):
    """alice and bob annotate study A; charlie annotates nothing (permissions are per issue)."""
    return {
        name: django_user_model.objects.create_user(name, password=f"{name}-pass")
        for name in ("alice", "bob", "charlie")
    }


@pytest.fixture
def make_study(db):
    """Build a study of `neurons` neurons x k images, labels from `labels`, real image files."""
    from annotate.images import do_store_image
    from annotate.models import ConceptSet, Neuron, NeuronImage, Study

    def build(name="study", neurons=4, k=3, labels=None, colors=None, concepts=None):
        concept_set = None
        if concepts:
            import hashlib

            concept_set = ConceptSet.objects.create(
                name=f"{name}-concepts",
                concepts=list(concepts),
                sha256=hashlib.sha256("\n".join(concepts).encode()).hexdigest(),
            )
        study = Study.objects.create(
            name=name,
            target_network="resnet50",
            probe_dataset="generated",
            layers=["layer1"],
            k=k,
            concept_set=concept_set,
        )
        for unit in range(neurons):
            label = labels[unit % len(labels)] if labels else f"concept{unit}"
            neuron = Neuron.objects.create(study=study, layer="layer1", unit=unit, label=label)
            for rank in range(1, k + 1):
                color = (
                    colors[(unit * k + rank) % len(colors)]
                    if colors
                    else (unit * 40 % 256, rank * 60 % 256, 90)
                )
                image = do_store_image(png_bytes(color, seed=unit * 100 + rank))
                NeuronImage.objects.create(neuron=neuron, image=image, rank=rank)
        give_to_staff(study)
        return study

    return build


CLOSED_PORT_BROKER = "redis://127.0.0.1:9/0"  # discard port: nothing listens there


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing connects to a port where nothing listens; pools are rebuilt around it."""
    from config.celery_app import app as celery_app

    connect = celery_app.connection_for_write

    def _reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    monkeypatch.setattr(
        celery_app, "connection_for_write", lambda url=None, **kw: connect(CLOSED_PORT_BROKER, **kw)
    )
    _reset_pools()
    yield
    monkeypatch.undo()
    _reset_pools()


@pytest.fixture
def staff_api(staff):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def rated_study(make_study, annotators):
    """6 neurons x 3 images in two layers; alice and bob, an ES model, a yes-to-all model."""
    from annotate.models import Neuron, NeuronImage
    from evaluation.models import EvaluationRun, Rater, RunStatus

    study = make_study(name="rated", neurons=6, k=3, labels=["red", "green", "blue"])
    Neuron.objects.filter(study=study, unit__gte=3).update(layer="layer2")
    study.layers = ["layer1", "layer2"]
    study.save()
    pairs = list(NeuronImage.objects.filter(neuron__study=study).order_by("neuron_id", "rank"))
    truth = ["yes", "no", "yes"] * 6
    alice = Rater.objects.create(name="alice", kind="human", user=annotators["alice"])
    bob = Rater.objects.create(name="bob", kind="human", user=annotators["bob"])
    judge(alice, pairs, truth)
    judge(bob, pairs, truth[:-2] + ["yes", "no"])  # truth ends no, yes
    es = Rater.objects.create(name="OpenCLIP ES", kind="openclip_es", params={"t": 0.25})
    es_scores = [(0.3 if v == "yes" else 0.2) + i / 1000 for i, v in enumerate(truth)]
    judge(es, pairs, ["yes" if s >= 0.25 else "no" for s in es_scores], es_scores)
    blip = Rater.objects.create(name="=BLIP", kind="vqa_blip2", params={})
    judge(blip, pairs, ["yes"] * 18, [0.9] * 18, extra={"answer": "yes, it does"})
    EvaluationRun.objects.create(
        rater=es, study=study, status=RunStatus.DONE, done_pairs=18, total_pairs=18,
        wall_seconds=2.5, stage_seconds={"encode": 2.0},
    )  # fmt: skip
    return study


@pytest.fixture(scope="session")
def encoder():
    """A tiny open_clip model built in-process (random weights)."""
    from tests.doubles.tiny_clip import tiny_encoder

    return tiny_encoder()


@pytest.fixture
def context_factory():
    from evaluation.raters.base import RaterContext, StageTimer

    def build(images, concepts=None, cache=None, batch_size=None):
        return RaterContext(
            images=images,
            timer=StageTimer(),
            concepts=concepts,
            cache=cache,
            device="cpu",
            batch_size=batch_size,
        )

    return build
