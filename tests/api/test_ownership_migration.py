"""Migrating an existing database: who created a study becomes its owner."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("annotate", "0010_study_question_type")]
AFTER = [("annotate", "0011_study_roles")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_studies_owners_get_the_owner_role():
    apps = migrate(BEFORE)
    try:
        User = apps.get_model("auth", "User")
        Study = apps.get_model("annotate", "Study")
        olga = User.objects.create(username="olga", is_staff=True)
        fields = {"target_network": "t", "probe_dataset": "p"}
        owned = Study.objects.create(name="owned", owner=olga, **fields)
        Study.objects.create(name="orphan", **fields)

        apps = migrate(AFTER)
        roles = apps.get_model("annotate", "StudyRole").objects.values_list(
            "study_id", "user_id", "role"
        )
        assert list(roles) == [(owned.pk, olga.pk, "owner")]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
