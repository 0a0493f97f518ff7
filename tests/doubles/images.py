"""In-memory image sources for rater tests, and a rater context over them."""

import hashlib

from evaluation.raters.base import RaterContext, StageTimer
from tests.helpers import png_bytes


class DictImages:
    """An image source over bytes held in memory, counting reads."""

    def __init__(self, images: dict[str, bytes]) -> None:
        self.images = images
        self.reads: list[str] = []

    def read(self, sha256: str) -> bytes:
        self.reads.append(sha256)
        return self.images[sha256]


def image_set(count: int) -> dict[str, bytes]:
    blobs = [png_bytes((i * 50 % 256, 255 - i * 30, 90 + i), seed=i) for i in range(count)]
    return {hashlib.sha256(b).hexdigest(): b for b in blobs}


def context_for(images: dict[str, bytes], batch_size: int | None = None) -> RaterContext:
    return RaterContext(images=DictImages(images), timer=StageTimer(), batch_size=batch_size)
