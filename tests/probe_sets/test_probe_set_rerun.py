"""Importing a probe set again, or after an interruption, doubles nothing."""

import pytest
from django.core.management import CommandError, call_command

from annotate.importers import probe_sets
from annotate.importers.probe_sets import do_import_probe_set
from annotate.models import ProbeImage, ProbeSet, ProbeSetImage
from tests.helpers import refused
from tests.probe_sets.helpers import image_folder

pytestmark = pytest.mark.django_db


def test_rerun_changes_nothing(tmp_path):
    root = image_folder(tmp_path / "probe", {"c": [f"{i}.png" for i in range(5)]})
    first, _ = do_import_probe_set("probe", [root])
    again, report = do_import_probe_set("probe", [root])
    assert again == first and report.unchanged == 5 and report.images_stored == 0
    assert (ProbeSet.objects.count(), ProbeSetImage.objects.count(), ProbeImage.objects.count()) \
        == (1, 5, 5)  # fmt: skip


def test_rerun_after_interruption_skips_stored_images(tmp_path, monkeypatch):
    root = image_folder(tmp_path / "probe", {"c": [f"{i}.png" for i in range(5)]})
    monkeypatch.setattr(probe_sets, "BATCH", 2)
    calls = []

    def interrupted(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return store(*args, **kwargs)

    store = probe_sets.do_store_images
    monkeypatch.setattr(probe_sets, "do_store_images", interrupted)
    with pytest.raises(KeyboardInterrupt):
        do_import_probe_set("probe", [root])
    assert ProbeImage.objects.count() == 2 and not ProbeSet.objects.exists()

    monkeypatch.setattr(probe_sets, "do_store_images", store)
    decoded = []
    check = probe_sets.check_image
    monkeypatch.setattr(probe_sets, "check_image", lambda data: decoded.append(1) or check(data))
    probe_set, report = do_import_probe_set("probe", [root])
    assert (report.images_stored, len(decoded)) == (3, 3)  # the two stored are not decoded
    assert probe_set.size == 5 and ProbeImage.objects.count() == 5


def test_same_name_other_images_refused(tmp_path):
    root = image_folder(tmp_path / "probe", {"c": ["1.png", "2.png"]})
    do_import_probe_set("probe", [root])
    order = tmp_path / "order.txt"
    order.write_text("c/2.png\nc/1.png\n")
    refused(lambda: do_import_probe_set("probe", [root], order), "already exists with other")


def test_command_prints_summary_and_refuses_missing_folder(tmp_path, capsys):
    root = image_folder(tmp_path / "probe", {"c": ["1.png", "2.png"]})
    call_command("import_probe_set", "broden", str(root))
    assert "Probe set 'broden' (2 images)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="nothing was changed:\nnope: probe folder not found"):
        call_command("import_probe_set", "x", str(tmp_path / "nope"))
