"""Probe set row order: torchvision ImageFolder's, an order file's, folders concatenated."""

from pathlib import Path

import pytest
from torchvision.datasets import ImageFolder

from annotate.importers.probe_sets import do_import_probe_set
from annotate.models import ProbeSetImage
from tests.helpers import refused
from tests.probe_sets.helpers import image_folder, paths

pytestmark = pytest.mark.django_db

CLASSES = {
    "zebra": ["b.png", "a.jpg.png", "A.png", "10.png", "9.png"],
    "Apple": ["x.png"],
    "apple": ["y.png", "notes.txt"],
}


def test_imagefolder_order_matches_torchvision(tmp_path):
    root = image_folder(tmp_path / "probe", CLASSES)
    (root / "zebra" / "notes.txt").write_text("not an image")
    (root / "zebra" / "deeper").mkdir()
    (root / "zebra" / "deeper" / "c.png").write_bytes((root / "zebra" / "b.png").read_bytes())
    (root / "loose.png").write_bytes((root / "zebra" / "b.png").read_bytes())  # not in a class

    probe_set, report = do_import_probe_set("probe", [root])

    expected = [Path(path).relative_to(root).as_posix() for path, _ in ImageFolder(root).samples]
    assert paths(probe_set) == expected
    assert expected[:3] == ["Apple/x.png", "apple/y.png", "zebra/10.png"]
    assert probe_set.size == 8 and report.created == 8
    # zebra/deeper/c.png and zebra/b.png are one picture: one stored image at two rows.
    assert report.images_stored == 7


def test_order_file_gives_row_order(tmp_path):
    root = image_folder(tmp_path / "probe", {"c": ["1.png", "2.png"], "d": ["3.png"]})
    order = tmp_path / "order.txt"
    order.write_text("d/3.png\n\nc/2.png\nc/1.png\n")

    probe_set, _ = do_import_probe_set("probe", [root], order)

    assert paths(probe_set) == ["d/3.png", "c/2.png", "c/1.png"]
    assert list(probe_set.rows.values_list("index", flat=True)) == [0, 1, 2]


def test_order_file_problems_name_line(tmp_path):
    root = image_folder(tmp_path / "probe", {"c": ["1.png"]})
    order = tmp_path / "order.txt"
    order.write_text("c/1.png\nc/missing.png\n../escape.png\nc/1.png\n")
    refused(
        lambda: do_import_probe_set("probe", [root], order),
        "order.txt, line 3: path '../escape.png' escapes",
        "order.txt, line 4: c/1.png is already on line 1",
    )
    order.write_text("c/1.png\nc/missing.png\n")
    refused(
        lambda: do_import_probe_set("probe", [root], order),
        "order.txt, line 2: c/missing.png: c/missing.png is not in the images folder",
    )


def test_several_folders_are_concatenated_in_order(tmp_path):
    imagenet = image_folder(tmp_path / "imagenet_val", {"n02": ["b.png"], "n01": ["a.png"]})
    broden = image_folder(tmp_path / "broden", {"ade20k": ["x.png"]}, seed=50)

    probe_set, _ = do_import_probe_set("imagenet_broden", [imagenet, broden])

    assert paths(probe_set) == ["imagenet_val/n01/a.png", "imagenet_val/n02/b.png",
                                "broden/ade20k/x.png"]  # fmt: skip
    order = tmp_path / "order.txt"
    order.write_text("broden/ade20k/x.png\nimagenet_val/n02/b.png\n")
    again, _ = do_import_probe_set("two", [imagenet, broden], order)
    assert paths(again) == ["broden/ade20k/x.png", "imagenet_val/n02/b.png"]
    assert ProbeSetImage.objects.filter(probe_set=again, index=0).get().image_id == (
        ProbeSetImage.objects.get(probe_set=probe_set, index=2).image_id
    )


def test_bad_image_refused_and_nothing_stored(tmp_path, settings):
    root = image_folder(tmp_path / "probe", {"c": ["1.png", "2.png"]})
    (root / "c" / "3.png").write_bytes(b"not a png")
    refused(lambda: do_import_probe_set("probe", [root]), "c/3.png: not an image file")
    assert not (tmp_path / "media").exists() or not list((tmp_path / "media").rglob("*.png"))
