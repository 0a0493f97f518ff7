import pytest

from annotate.importers.concepts import do_import_concept_set
from annotate.models import ConceptSet
from tests.helpers import CONCEPT_SETS as SHARED
from tests.helpers import refused

pytestmark = pytest.mark.django_db


def test_order_kept_blank_lines_dropped_bom_tolerated():
    data = "\ufeffdog\n\n  cat \r\nred car\n".encode()
    concept_set = do_import_concept_set("pets", data)
    assert concept_set.concepts == ["dog", "cat", "red car"]


def test_repeats_are_kept_once_and_reported():
    from annotate.importers import ImportReport

    report = ImportReport("concept", "")
    concept_set = do_import_concept_set("dups", b"dog\ncat\ndog\n", report)
    assert concept_set.concepts == ["dog", "cat"]
    assert "1 repeated concepts kept once" in report.summary()


def test_second_import_changes_nothing():
    first = do_import_concept_set("pets", b"dog\ncat\n")
    second = do_import_concept_set("pets", b"dog\ncat\n")
    assert first.pk == second.pk and ConceptSet.objects.count() == 1


def test_same_name_other_concepts_refused():
    do_import_concept_set("pets", b"dog\ncat\n")
    refused(lambda: do_import_concept_set("pets", b"dog\nbird\n"), "already exists")


def test_non_utf8_and_empty_refused():
    refused(
        lambda: do_import_concept_set("x", "caf\xe9\n".encode("latin-1")), "not UTF-8", "line 1"
    )
    refused(lambda: do_import_concept_set("x", b"\n \n"), "no concepts")


def test_over_the_size_cap_refused(settings):
    settings.NEURONJUDGE_MAX_IMPORT_FILE_BYTES = 10
    refused(lambda: do_import_concept_set("x", b"dog\ncat\nbird\nfish\n"), "10-byte limit")


@pytest.mark.skipif(not __import__("os").path.isdir(SHARED), reason="shared data absent")
def test_real_10k_concept_set():
    concept_set = do_import_concept_set("10k", f"{SHARED}/10k.txt")
    assert len(concept_set.concepts) == 9894
