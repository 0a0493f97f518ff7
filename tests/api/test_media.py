"""The development server (DEBUG) serves /media/ only to signed-in users who may see a study
that uses the image; annotation pages keep loading their images through the study's URLs."""

from __future__ import annotations

import importlib

import pytest
from django.urls import clear_url_caches, reverse

from annotate.models import StudyAnnotator

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings):
    """The URLconf as `runserver` with DEBUG on builds it."""
    import config.urls

    settings.DEBUG = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.fixture
def two_studies(make_study, annotators):
    mine = make_study("mine", neurons=1, k=1)
    other = make_study("other", neurons=1, k=1, colors=[(1, 2, 3)])  # not the same image
    StudyAnnotator.objects.create(study=mine, user=annotators["alice"])
    return mine, other


def media_url(study) -> str:
    return study.neurons.get().images.get().image.file.url


def test_media_needs_a_login(client, debug_urls, two_studies):
    url = media_url(two_studies[0])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_an_annotator_sees_only_their_studies_images(client, debug_urls, two_studies, annotators):
    mine, other = two_studies
    client.force_login(annotators["alice"])
    shown = client.get(media_url(mine))
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content).startswith(b"\x89PNG")
    assert client.get(media_url(other)).status_code == 404
    assert client.get("/media/probe/00/00/missing.png").status_code == 404
    assert client.get("/media/../config/settings/base.py").status_code == 404


def test_staff_see_every_studys_images(client, debug_urls, two_studies, staff):
    client.force_login(staff)
    assert [client.get(media_url(s)).status_code for s in two_studies] == [200, 200]


def test_annotation_images_still_load_for_annotators(client, debug_urls, two_studies, annotators):
    from annotate.annotation.assignment import access_next_unit

    mine, _ = two_studies
    [unit] = access_next_unit(annotators["alice"], mine)["units"]
    client.force_login(annotators["alice"])
    response = client.get(unit["images"][0]["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_without_debug_django_serves_no_media(client, two_studies, staff):
    client.force_login(staff)
    assert client.get(media_url(two_studies[0])).status_code == 404
