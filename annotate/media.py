"""Uploaded media for the development server (DEBUG): only to a signed-in user who may see
a study that uses the image. Production serves media from S3 (presigned links) or a proxy.

Annotation pages do not come here: they load images through the study-scoped
`annotation-image` view, whose URLs do not reveal the image's file.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_GET
from django.views.static import serve

from annotate.models import ProbeImage
from annotate.permissions import visible_studies


def may_see_media(user, name: str) -> bool:
    """The file is a probe image of a study the user may see (an indexed lookup)."""
    return ProbeImage.objects.filter(
        file=name, uses__neuron__study__in=visible_studies(user)
    ).exists()


@require_GET
@login_required
def serve_media(request, path: str):
    if not may_see_media(request.user, path):
        raise Http404("No such file.")  # the same answer whether it exists or not
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "private, max-age=3600"
    return response
