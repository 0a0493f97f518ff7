"""The contract between the run machinery and a rater. Plain Python: no Django, no Celery."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Pair:
    """One (neuron, image) pair to rate: the image by content hash, the label as given."""

    pair_id: int
    image_sha256: str
    label: str


@dataclass(frozen=True)
class PairVerdict:
    pair_id: int
    verdict: str  # "yes", "no" or "unparseable"
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ImageSource(Protocol):
    def read(self, sha256: str) -> bytes: ...


class VectorCache(Protocol):
    """Embeddings keyed by (model key, kind, content key); shared by every worker."""

    def get_many(self, model_key: str, kind: str, keys: Sequence[str]) -> dict[str, Any]: ...

    def put_many(self, model_key: str, kind: str, vectors: dict[str, Any]) -> None: ...


class MemoryVectorCache:
    """A VectorCache in this process's memory, for raters used without Django (benchmarks,
    tests, notebooks); vectors are kept as little-endian float32, like the database cache."""

    def __init__(self) -> None:
        self.store: dict[tuple[str, str, str], np.ndarray] = {}

    def get_many(self, model_key: str, kind: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return {
            k: self.store[model_key, kind, k] for k in keys if (model_key, kind, k) in self.store
        }

    def put_many(self, model_key: str, kind: str, vectors: dict[str, Any]) -> None:
        for key, vector in vectors.items():
            self.store[model_key, kind, key] = np.asarray(vector, dtype="<f4")


class StageTimer:
    """Adds up wall seconds per named stage (load, embed_images, embed_text, score, ...)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in self.seconds.items()}


@dataclass
class RaterContext:
    """What a rater may need besides its parameters, supplied by whoever runs it."""

    images: ImageSource
    timer: StageTimer
    concepts: Sequence[str] | None = None
    cache: VectorCache | None = None
    device: str = "auto"
    batch_size: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)


class PairRater(Protocol):
    """Rates batches of pairs. Built once per worker process and reused across chunks."""

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]: ...


class DenseRater(PairRater, Protocol):
    """A rater that also scores labels on every image of a probe set (kinds with `dense` in
    the registry): image vectors once for the whole set, then one product per batch of labels."""

    dense_dtype: str  # how its scores are stored: "float16" or "float32"
    image_model_key: str  # raters with the same key embed images the same way

    def embed_probe_set(
        self, image_sha256s: Sequence[str], context: RaterContext, start: int = 0
    ) -> np.ndarray: ...

    def score_probe_set(
        self, labels: Sequence[str], images: np.ndarray, context: RaterContext
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class LabelItem:
    """One label to rate with its neuron's k images shown together. `item_id` is the row the
    rating belongs to (a neuron's label in one label set), handed back unchanged."""

    item_id: int
    neuron_id: int
    label: str
    image_sha256s: tuple[str, ...]


@dataclass(frozen=True)
class LabelRating:
    """A rater's 1-5 rating of one label. `rating` is None exactly when `unparseable`; it may
    be fractional (BLIP-2's expected value). `verdict` is a yes/no for the label where the
    rater gives one (BLIP-2: any of its images), else None. `prompt` is what the model read."""

    item_id: int
    rating: float | None
    answer: str
    unparseable: bool
    prompt: str
    verdict: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LabelRater(Protocol):
    """Rates labels with their images shown together. Built once per worker process."""

    def rate_labels(
        self, items: Sequence[LabelItem], context: RaterContext
    ) -> list[LabelRating]: ...


def rate_label_chunk(
    rater: LabelRater, items: Sequence[LabelItem], context: RaterContext
) -> list[LabelRating]:
    """One chunk of a label-rating run: the ratings in the order of `items`, checked against
    the contract so that a rater's slip fails the chunk instead of storing a wrong row."""
    empty = [item.item_id for item in items if not item.image_sha256s]
    if empty:
        raise ValueError(f"labels without images cannot be rated: items {empty[:10]}")
    ratings = rater.rate_labels(items, context) if items else []
    if [r.item_id for r in ratings] != [item.item_id for item in items]:
        raise RuntimeError("the rater answered for other labels than it was asked about")
    for r in ratings:
        if r.unparseable != (r.rating is None) or not (r.rating is None or 1 <= r.rating <= 5):
            raise RuntimeError(f"rating {r.rating!r} of item {r.item_id} breaks the 1-5 scale")
    return ratings


class RaterUnavailable(RuntimeError):
    """The rater cannot run here (missing weights, unreachable endpoint): say how to fix it."""


@dataclass(frozen=True)
class RaterSite:
    """What this deployment lets raters reach, given to parameter checks and factories so that
    raters know nothing of Django settings (evaluation.rater_configs builds it from them).
    The default is the settings' default: loopback endpoints only."""

    allowed_hosts: frozenset[str] = frozenset({"127.0.0.1", "localhost"})


LOOPBACK_SITE = RaterSite()
