"""Checking and storing probe images: content-addressed, decoded safely, stored once."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from annotate.models import ProbeImage, probe_image_path

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}


class ImageRejected(ValueError):
    """An image that cannot be accepted, with a reason a user can act on."""


@dataclass(frozen=True)
class ImageInfo:
    sha256: str
    width: int
    height: int
    format: str
    size_bytes: int


def check_image(data: bytes) -> ImageInfo:
    """Validate image bytes fully (size, pixel count, decodability) without trusting headers."""
    limit = settings.NEURONJUDGE_MAX_IMAGE_BYTES
    if len(data) > limit:
        raise ImageRejected(f"image is {len(data):,} bytes, over the {limit:,}-byte limit")
    if not data:
        raise ImageRejected("image file is empty")
    max_pixels = settings.NEURONJUDGE_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height, fmt = img.width, img.height, img.format
                if width * height > max_pixels:
                    raise ImageRejected(
                        f"image is {width}x{height} pixels, over the {max_pixels:,}-pixel limit"
                    )
                img.load()  # decode fully: truncated files fail here
    except ImageRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"image refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageRejected("not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(f"broken or truncated image: {exc}") from None
    if fmt not in ALLOWED_FORMATS:
        raise ImageRejected(
            f"image format {fmt} is not accepted ({', '.join(sorted(ALLOWED_FORMATS))})"
        )
    return ImageInfo(hashlib.sha256(data).hexdigest(), width, height, fmt, len(data))


def probe_image_for(info: ImageInfo) -> ProbeImage:
    """An unsaved ProbeImage row for checked bytes, its file name set to the content path."""
    image = ProbeImage(
        sha256=info.sha256,
        width=info.width,
        height=info.height,
        format=info.format,
        size_bytes=info.size_bytes,
    )
    image.file.name = probe_image_path(image, "")
    return image


def do_write_image_file(image: ProbeImage, read: Callable[[], bytes]) -> None:
    """Write the image's bytes under its content path unless they are there already."""
    name = image.file.name
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(read()))
        if saved != name:  # a concurrent writer got there first; keep one copy
            default_storage.delete(saved)


def do_store_image(data: bytes) -> ProbeImage:
    """Store image bytes once, however many neurons use them. Returns the ProbeImage row.

    The file is written before the row; if the caller's transaction rolls back, the file
    stays as a harmless orphan under its content hash and is reused by the next import.
    """
    info = check_image(data)
    existing = ProbeImage.objects.filter(sha256=info.sha256).first()
    if existing:
        return existing
    image = probe_image_for(info)
    do_write_image_file(image, lambda: data)
    image, _ = ProbeImage.objects.get_or_create(
        sha256=info.sha256,
        defaults={
            "file": image.file.name,
            "width": info.width,
            "height": info.height,
            "format": info.format,
            "size_bytes": info.size_bytes,
        },
    )
    return image
