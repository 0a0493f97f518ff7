"""Tiny open_clip models built in-process (random weights) and in-memory image stores."""

from __future__ import annotations

import pytest

from evaluation.raters.base import RaterContext, StageTimer
from tests.doubles.tiny_clip import tiny_encoder


@pytest.fixture(scope="session")
def encoder():
    return tiny_encoder()


@pytest.fixture
def context_factory():
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
