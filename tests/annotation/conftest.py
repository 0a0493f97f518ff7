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
    from annotate.models import LabelSet, Neuron, NeuronImage, Study
    from tests.helpers import png_bytes

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


@pytest.fixture
def page(live_server, monkeypatch):
    """Debian's Chromium, headless. Playwright's sync API runs an event loop in this thread;
    Django's ORM calls are still safe, so async-unsafe calls are allowed for this test only
    (left set, it would leak into `check --deploy` elsewhere)."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 760})
        page.set_default_timeout(60_000)  # a busy CI machine can be slow; failures stay failures
        yield page
        browser.close()


def log_in(page, live_server, name: str, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", name)
    page.fill("#id_password", f"{name}-pass")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}{next_url}")
