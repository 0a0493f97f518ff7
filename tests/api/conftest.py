"""API fixtures: clients signed in as staff or as one of alice, bob and charlie."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_user(annotators):
    def client_for(name: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(annotators[name])
        return client

    return client_for


@pytest.fixture
def membership(annotators):
    """Add an annotator to a study the way an invite link does."""
    from annotate.models import StudyAnnotator

    def add(study, name: str):
        return StudyAnnotator.objects.create(study=study, user=annotators[name])

    return add


@pytest.fixture
def human_judgment(annotators):
    """A stored human verdict by `name` on one pair."""
    from evaluation.models import Judgment, Rater

    def make(name: str, pair, verdict: str = "yes") -> Judgment:
        user = annotators[name]
        rater, _ = Rater.objects.get_or_create(
            user=user, defaults={"name": f"human:{name}", "kind": Rater.Kind.HUMAN}
        )
        return Judgment.objects.create(rater=rater, neuron_image=pair, verdict=verdict)

    return make
