import os

import pytest

from annotate.importers.images import do_import_images
from annotate.importers.labels import do_import_labels
from annotate.models import NeuronImage, ProbeImage, Study
from tests.helpers import manifest, png_bytes, refused, snapshot, zip_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    study = Study.objects.create(name="s", target_network="rn50", probe_dataset="gen", k=3)
    do_import_labels(study, b"layer,unit,description\nconv1,0,red\nconv1,1,blue\n")
    return study


IMAGES = {f"img{i}.png": png_bytes((200, 10 * i, 10), seed=i) for i in range(6)}
ROWS = [
    ("conv1", 0, 1, "img0.png", 9.5),
    ("conv1", 0, 2, "img1.png", 8.0),
    ("conv1", 0, 3, "img2.png", ""),
    ("conv1", 1, 1, "img2.png", 7.0),  # shared with conv1:0: stored once
    ("conv1", 1, 2, "img3.png", 6.0),
]


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for name, data in IMAGES.items():
        (root / name).write_bytes(data)
    return root


def test_folder_import_stores_each_image_once(study, folder):
    report = do_import_images(study, manifest(ROWS), folder)
    assert (report.rows, report.created, report.images_stored) == (5, 5, 4)
    assert ProbeImage.objects.count() == 4
    pairs = NeuronImage.objects.filter(neuron__study=study).order_by("neuron__unit", "rank")
    assert [(p.neuron.unit, p.rank, p.activation) for p in pairs] == [
        (0, 1, 9.5),
        (0, 2, 8.0),
        (0, 3, None),
        (1, 1, 7.0),
        (1, 2, 6.0),
    ]
    assert pairs[2].image_id == pairs[3].image_id
    assert pairs[0].image.file.read() == IMAGES["img0.png"]


def test_zip_import_and_second_import_changes_nothing(study):
    archive = zip_bytes(IMAGES)
    do_import_images(study, manifest(ROWS), archive)
    before = snapshot()
    again = do_import_images(study, manifest(ROWS), archive)
    assert (again.created, again.updated, again.unchanged, again.images_stored) == (0, 0, 5, 0)
    assert snapshot() == before


def test_zip_of_a_folder_and_jsonl_manifest(study):
    archive = zip_bytes({f"top/{name}": data for name, data in IMAGES.items()})
    jsonl = b'{"layer": "conv1", "unit": 0, "rank": 1, "path": "img4.png", "activation": 1.5}\n'
    report = do_import_images(study, jsonl, archive)
    assert report.created == 1
    assert NeuronImage.objects.get().activation == 1.5


def test_changed_activation_is_an_update(study, folder):
    do_import_images(study, manifest(ROWS[:1]), folder)
    report = do_import_images(study, manifest([("conv1", 0, 1, "img0.png", 3.0)]), folder)
    assert (report.updated, NeuronImage.objects.get().activation) == (1, 3.0)


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([("conv1", 7, 1, "img0.png", "")], ["line 2", "unknown neuron conv1:7"]),
        ([("fc", 0, 1, "img0.png", "")], ["unknown neuron fc:0"]),
        (
            [("conv1", 0, 1, "img0.png", ""), ("conv1", 0, 1, "img1.png", "")],
            ["line 3", "rank 1 twice (first on line 2)"],
        ),
        ([("conv1", 0, 0, "img0.png", "")], ["line 2", "rank 0 is outside 1..3"]),
        ([("conv1", 0, 4, "img0.png", "")], ["rank 4 is outside 1..3"]),
        (
            [("conv1", 0, 1, "img0.png", ""), ("conv1", 0, 2, "img0.png", "")],
            ["line 3", "image img0.png twice"],
        ),
        ([("conv1", 0, 1, "../secret.png", "")], ["line 2", "escapes"]),
        ([("conv1", 0, 1, "a/../../x.png", "")], ["escapes"]),
        ([("conv1", 0, 1, "/etc/passwd", "")], ["line 2", "absolute"]),
        ([("conv1", 0, 1, "C:\\x.png", "")], ["absolute"]),
        ([("conv1", 0, 1, "nothere.png", "")], ["line 2", "nothere.png is not in"]),
        ([("conv1", 0, 1, "img0.png", "hot")], ["activation must be a number"]),
    ],
)
def test_bad_manifest_rows_refused(study, folder, rows, expected):
    refused(lambda: do_import_images(study, manifest(rows), folder), "manifest.csv", *expected)
    refused(lambda: do_import_images(study, manifest(rows), zip_bytes(IMAGES)), *expected)
    assert not ProbeImage.objects.exists()


def test_missing_column_is_one_clear_problem(study, folder):
    failure = refused(
        lambda: do_import_images(study, b"layer,unit,path\nconv1,0,img0.png\n", folder),
        "line 1",
        "missing column rank",
    )
    assert len(failure.problems) == 1


def test_same_picture_under_two_names_refused(study, folder):
    (folder / "copy.png").write_bytes(IMAGES["img0.png"])
    rows = [("conv1", 0, 1, "img0.png", ""), ("conv1", 0, 2, "copy.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), folder), "line 3", "same image as")


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"not an image at all", "not an image file"),
        (IMAGES["img0.png"][:60], "broken or truncated"),
        (b"", "empty"),
    ],
)
def test_unreadable_images_refused(study, folder, data, expected):
    (folder / "bad.png").write_bytes(data)
    rows = [("conv1", 0, 1, "img0.png", ""), ("conv1", 0, 2, "bad.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), folder), "line 3", "bad.png", expected)
    refused(lambda: do_import_images(study, manifest(rows), zip_bytes({"bad.png": data})), expected)
    assert not ProbeImage.objects.exists()


def test_oversized_image_refused(study, folder, settings):
    settings.NEURONJUDGE_MAX_IMAGE_BYTES = 50
    rows = [("conv1", 0, 1, "img0.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), folder), "over the image size limit")
    refused(lambda: do_import_images(study, manifest(rows), zip_bytes(IMAGES)), "over the image")


def test_symlink_in_zip_refused(study):
    archive = zip_bytes(IMAGES, links={"link.png": "../../etc/passwd"})
    rows = [("conv1", 0, 1, "link.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), archive), "symbolic link")


def test_symlink_out_of_folder_refused_but_inside_is_fine(study, folder, tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes(seed=99))
    os.symlink(outside, folder / "out.png")
    os.symlink(folder / "img1.png", folder / "in.png")
    rows = [("conv1", 0, 1, "out.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), folder), "pointing outside")
    assert do_import_images(study, manifest([("conv1", 0, 1, "in.png", "")]), folder).created == 1


def test_replacing_an_imported_image_refused(study, folder):
    do_import_images(study, manifest(ROWS[:1]), folder)
    rows = [("conv1", 0, 1, "img5.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), folder), "different image at rank 1")
    rows = [("conv1", 0, 2, "img0.png", "")]
    refused(
        lambda: do_import_images(study, manifest(rows), folder), "already has img0.png at rank 1"
    )


def test_not_a_zip_and_missing_folder_refused(study, tmp_path):
    refused(lambda: do_import_images(study, manifest(ROWS), b"PK but not really"), "not a zip")
    refused(lambda: do_import_images(study, manifest(ROWS), tmp_path / "nope"), "not found")


def test_one_bad_image_late_in_the_manifest_writes_nothing(study, folder, settings):
    (folder / "bad.png").write_bytes(b"junk")
    rows = [*ROWS, ("conv1", 1, 3, "bad.png", "")]
    refused(lambda: do_import_images(study, manifest(rows), folder), "line 7")
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_every_problem_of_a_manifest_is_reported_in_one_pass(study, folder):
    """A bad row, an unknown neuron and a missing file: all three in one refusal, in line
    order, with the good rows' images still checked."""
    (folder / "bad.png").write_bytes(b"junk")
    rows = [
        ("conv1", 0, 9, "img0.png", ""),  # rank outside 1..3
        ("conv7", 0, 1, "img1.png", ""),  # no such neuron
        ("conv1", 1, 1, "nothere.png", ""),  # no such file
        ("conv1", 1, 2, "bad.png", ""),  # not an image
    ]
    failure = refused(lambda: do_import_images(study, manifest(rows), folder))
    assert [(p.file, p.line) for p in failure.problems] == [
        ("manifest.csv", n) for n in (2, 3, 4, 5)
    ]
    assert "rank 9 is outside 1..3" in failure.problems[0].message
    assert "unknown neuron conv7:0" in failure.problems[1].message
    assert "nothere.png is not in" in failure.problems[2].message
    assert "bad.png" in failure.problems[3].message


def test_conflicts_with_stored_images_are_reported_with_the_other_problems(study, folder):
    do_import_images(study, manifest(ROWS[:1]), folder)
    rows = [("conv1", 0, 1, "img5.png", ""), ("conv1", 1, 1, "nothere.png", "")]
    failure = refused(lambda: do_import_images(study, manifest(rows), folder))
    assert [p.line for p in failure.problems] == [2, 3]
    assert "different image at rank 1" in failure.problems[0].message


def test_a_bad_zip_is_reported_with_the_manifest_problems(study):
    rows = [("conv1", 0, 9, "img0.png", "")]
    failure = refused(lambda: do_import_images(study, manifest(rows), b"PK but not really"))
    assert {p.message.split(" ")[0] for p in failure.problems} == {"rank", "not"}


def test_one_pass_still_stops_listing_at_the_problem_cap(study, folder):
    rows = [("conv1", 0, 9, f"x{i}.png", "") for i in range(40)]
    rows += [("conv9", i, 1, f"y{i}.png", "") for i in range(40)]
    failure = refused(lambda: do_import_images(study, manifest(rows), folder))
    assert len(failure.problems) == 50
    # 40 bad ranks, 40 unknown neurons, 40 missing files
    assert failure.more == 70
