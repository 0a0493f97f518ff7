"""Helpers that tests of several features share. Fixtures live in tests/conftest.py; test
doubles of models, servers and workers in tests/doubles/."""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from annotate.importers import ImportFailed
from annotate.models import (
    ConceptSet,
    LayerActivations,
    Neuron,
    NeuronImage,
    ProbeImage,
    ProbeSet,
    ProbeSetImage,
    Study,
)
from evaluation.agreement.pairwise import pairwise_overall_and_by_group
from evaluation.models import Judgment, Rater

ROOT = Path(__file__).resolve().parents[1]


# --- Images, files and the database before and after an import ------------------------------
def png_bytes(color=(255, 0, 0), size=(32, 32), seed: int = 0) -> bytes:
    """A small PNG of one colour with a seeded pixel so different seeds give different bytes."""
    img = Image.new("RGB", size, color)
    img.putpixel((seed % size[0], (seed // size[0]) % size[1]), (seed % 256, 7, 7))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def snapshot() -> dict:
    return {
        "concept_sets": list(ConceptSet.objects.order_by("pk").values_list("name", "sha256")),
        "studies": list(Study.objects.order_by("pk").values_list("name", "layers", "k")),
        "neurons": list(
            Neuron.objects.order_by("pk").values_list(
                "pk", "layer", "unit", "label", "method_score"
            )
        ),
        "neuron_images": list(
            NeuronImage.objects.order_by("pk").values_list(
                "neuron_id", "rank", "image_id", "activation"
            )
        ),
        "probe_images": ProbeImage.objects.count(),
        "probe_sets": list(ProbeSet.objects.values_list("name", "size", "sha256")),
        "probe_rows": ProbeSetImage.objects.count(),
        "activations": list(LayerActivations.objects.values_list("layer", "sha256")),
        "study_probe_sets": list(Study.objects.values_list("probe_set", flat=True)),
    }


def refused(call, *expected: str) -> ImportFailed:
    """Run `call`, which must raise ImportFailed mentioning each expected text, and change
    nothing in the database."""
    before = snapshot()
    with pytest.raises(ImportFailed) as info:
        call()
    text = info.value.text()
    for part in expected:
        assert part in text, f"{part!r} not in:\n{text}"
    assert snapshot() == before
    return info.value


def zip_bytes(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def manifest(rows: list[tuple], header: str = "layer,unit,rank,path,activation") -> bytes:
    lines = [header, *(",".join(str(v) for v in row) for row in rows)]
    return "\n".join(lines).encode()


CLIP = b"layer,unit,description,similarity\nlayer1,0,red,0.3\nlayer1,1,blue,0.2\n"
MILAN = b"layer,unit,description\nlayer1,0,red things\nlayer1,1,sky\n"


def images_zip() -> tuple[bytes, bytes]:
    files = {f"u{u}_{r}.png": png_bytes(seed=u * 10 + r) for u in (0, 1) for r in (1, 2)}
    rows = [("layer1", u, r, f"u{u}_{r}.png", 1.0 / r) for u in (0, 1) for r in (1, 2)]
    return manifest(rows), zip_bytes(files)


# --- The shared CLIP-Dissect data: beside the repository (CI's fresh clone), at
# $NEURONJUDGE_SHARED_DIR, or at /work/shared on a developer machine ---------------------------
def _find() -> Path:
    candidates = [os.environ.get("NEURONJUDGE_SHARED_DIR"), ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "data" / "clip-dissect").is_dir():
            return Path(candidate) / "data" / "clip-dissect"
    return ROOT.parent / "shared" / "data" / "clip-dissect"


CLIP_DISSECT = _find()
RESULTS = CLIP_DISSECT / "results"
CONCEPT_SETS = CLIP_DISSECT / "concept_sets"


# --- Ownership -------------------------------------------------------------------------------
def give_to_staff(study: Study) -> Study:
    """Make the `staff` test user (when the test has one) the study's owner, as creating it
    through a page or the API would."""
    from django.contrib.auth import get_user_model

    from annotate.models import StudyRole

    user = get_user_model().objects.filter(username="staff", is_staff=True).first()
    if user is not None:
        StudyRole.objects.get_or_create(study=study, user=user, defaults={"role": "owner"})
    return study


# --- API responses ---------------------------------------------------------------------------
def page(results: list, count: int | None = None) -> dict:
    """The whole body of a one-page list response."""
    return {
        "count": len(results) if count is None else count,
        "next": None,
        "previous": None,
        "results": results,
    }


# --- Annotation ------------------------------------------------------------------------------
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


# --- Judgments and agreement -----------------------------------------------------------------
def judge(rater, pairs, verdicts, scores=None, extra=None):
    Judgment.objects.bulk_create(
        Judgment(
            rater=rater,
            neuron_image=p,
            verdict=v,
            score=None if scores is None else scores[i],
            extra=extra or {},
        )
        for i, (p, v) in enumerate(zip(pairs, verdicts, strict=True))
    )


def slip_a_distractor(study, right: str, wrong: str) -> None:
    """One distractor image (a known "no"): `right` answers no, `wrong` answers yes."""
    neuron = Neuron.objects.filter(study=study).order_by("unit").first()
    donor = NeuronImage.objects.filter(neuron__study=study).exclude(neuron=neuron).first()
    distractor = NeuronImage.objects.create(
        neuron=neuron, image=donor.image, rank=99, is_distractor=True
    )
    judge(Rater.objects.get(name=right), [distractor], ["no"])
    judge(Rater.objects.get(name=wrong), [distractor], ["yes"])


def pairwise_over_one_group(votes, raters, units, n_units, n_boot=500, seed=0):
    """The report's pairwise figures with every unit in one group (one layer)."""
    overall, _ = pairwise_overall_and_by_group(
        votes, raters, units, np.zeros(n_units, dtype=np.int64), ["all"], n_boot, seed
    )
    return overall


# --- Neuron-level questions and the browser ---------------------------------------------------
def build_label_study(
    question: str,
    label_sets: dict[str, list[str]],
    k: int = 3,
    overlap: int = 2,
    image=None,
    name: str | None = None,
):
    """A study asking `question` of len(labels) units of layer4, one neuron per label set and
    unit (`label_sets`: name -> a label per unit), the unit's k images stored once and shared.
    `image(unit, rank)` makes a PNG (default: a plain generated one)."""
    from annotate.images import do_store_image
    from annotate.models import AnnotationSettings, LabelSet, Neuron, NeuronImage, Study

    study = Study.objects.create(
        name=name or question,
        target_network="resnet50",
        probe_dataset="generated",
        k=k,
        overlap=overlap,
        question_type=question,
    )
    AnnotationSettings.objects.create(study=study, shuffle_images=False, gold_rate=0)
    sets = [LabelSet.objects.create(study=study, name=n) for n in label_sets]
    units = len(next(iter(label_sets.values())))
    make = image or (lambda unit, rank: png_bytes((unit * 60 % 256, rank * 50, 90), seed=unit))
    for unit in range(units):
        images = [do_store_image(make(unit, rank)) for rank in range(1, k + 1)]
        for labels in sets:
            neuron = Neuron.objects.create(
                study=study,
                label_set=labels,
                layer="layer4",
                unit=unit,
                label=label_sets[labels.name][unit],
            )
            NeuronImage.objects.bulk_create(
                NeuronImage(neuron=neuron, image=img, rank=rank)
                for rank, img in enumerate(images, start=1)
            )
    return study


def join(study, staff, users) -> None:
    from annotate.annotation.members import do_create_invite, do_join_study

    invite = do_create_invite(study, staff)
    for user in users:
        do_join_study(user, invite)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A page of Debian's Chromium, headless, closed afterwards."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(60_000)  # a busy CI machine can be slow; failures stay failures
        yield page
        browser.close()


def log_in(page, live_server, name: str, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", name)
    page.fill("#id_password", f"{name}-pass")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}{next_url}")
