"""A small study that alice and bob annotate; charlie is in no study."""

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
