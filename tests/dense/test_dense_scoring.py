"""OpenCLIP raters over a whole probe set, on a tiny in-process CLIP and generated images:
the dense scores are the pair raters' scores, images are embedded once, blocks stay small."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.demo_images import COLORS, SHAPES, TEXTURES, render
from evaluation.raters import openclip_dense
from evaluation.raters.base import MemoryVectorCache, Pair
from evaluation.raters.openclip import ConceptProportionRater, EmbeddingSimilarityRater
from tests.doubles.tiny_clip import MemoryImages

CONCEPTS = [*COLORS, *SHAPES, "dog", "car", "tree"]
LABELS = ["red", "circle", "striped", "objects", "blue", "dog"]  # striped, objects: not in S


@pytest.fixture
def probe():
    images = MemoryImages()
    shas = [
        images.add(render(s, c, t, variant=v, size=32, seed=3).png)
        for s in SHAPES[:2] for c in list(COLORS)[:3] for t in TEXTURES[:2] for v in range(2)
    ]  # fmt: skip
    return images, shas


def _pairs(shas):
    return [Pair(i * len(LABELS) + j, sha, label)
            for i, sha in enumerate(shas) for j, label in enumerate(LABELS)]  # fmt: skip


def test_es_dense_scores_are_the_pair_raters_cosines(encoder, context_factory, probe):
    images, shas = probe
    rater = EmbeddingSimilarityRater({"threshold": 0.1}, encoder)
    context = context_factory(images, cache=MemoryVectorCache())
    dense = rater.score_probe_set(LABELS, rater.embed_probe_set(shas, context), context)
    pairs = rater.rate(_pairs(shas), context)
    expected = np.array([v.score for v in pairs]).reshape(len(shas), len(LABELS)).T
    assert dense.shape == (len(LABELS), len(shas)) and dense.dtype == np.float32
    np.testing.assert_allclose(dense, expected, atol=1e-6)
    # float16, as stored, keeps them to a few 1e-4
    np.testing.assert_allclose(dense.astype(np.float16), expected, atol=3e-4)


def test_cp_dense_scores_are_the_pair_raters_rank_proportions(encoder, context_factory, probe):
    images, shas = probe
    rater = ConceptProportionRater({"proportion": 0.3}, encoder)
    context = context_factory(images, concepts=CONCEPTS, cache=MemoryVectorCache())
    dense = rater.score_probe_set(LABELS, rater.embed_probe_set(shas, context), context)
    pairs = rater.rate(_pairs(shas), context)
    expected = np.array([v.score for v in pairs]).reshape(len(shas), len(LABELS)).T
    np.testing.assert_array_equal(dense, expected.astype(np.float32))
    yes = np.array([v.verdict == "yes" for v in pairs]).reshape(len(shas), len(LABELS)).T
    np.testing.assert_array_equal(dense <= 0.3, yes)
    assert set(context.notes["labels_added_to_concept_set"]) == {"objects", "striped"}


def test_image_blocks_bound_memory_and_change_nothing(encoder, context_factory, probe, monkeypatch):
    images, shas = probe
    rater = ConceptProportionRater({"proportion": 0.3}, encoder)
    context = context_factory(images, concepts=CONCEPTS, cache=MemoryVectorCache())
    vectors = rater.embed_probe_set(shas, context)
    whole = rater.score_probe_set(LABELS, vectors, context)
    blocks = []
    real_blocks = openclip_dense.image_blocks

    def spy(n_images, per_image):
        for block in real_blocks(n_images, per_image):
            blocks.append((block.stop - block.start) * per_image)
            yield block

    monkeypatch.setattr(openclip_dense, "BLOCK_ELEMENTS", 64)
    monkeypatch.setattr(openclip_dense, "image_blocks", spy)
    np.testing.assert_array_equal(rater.score_probe_set(LABELS, vectors, context), whole)
    es = EmbeddingSimilarityRater({"threshold": 0.1}, encoder)
    es_whole = es.score_probe_set(LABELS, vectors, context)
    assert len(blocks) > 3 and max(blocks) <= max(64, len(CONCEPTS) + len(LABELS))
    assert es_whole.shape == whole.shape


def test_probe_set_is_embedded_once_through_the_cache(context_factory, probe):
    from tests.doubles.tiny_clip import tiny_encoder

    images, shas = probe
    encoder = tiny_encoder(seed=4, name="tiny-dense")
    cache = MemoryVectorCache()
    rater = EmbeddingSimilarityRater({"threshold": 0.1}, encoder)
    first = rater.embed_probe_set([*shas, shas[0]], context_factory(images, cache=cache), start=5)
    calls, reads = encoder.calls["images"], images.reads
    assert reads == len(shas) and calls >= 1
    again = rater.embed_probe_set(shas, context_factory(images, cache=cache), start=2)
    assert (encoder.calls["images"], images.reads) == (calls, reads)
    np.testing.assert_array_equal(first[: len(shas)], again)
    np.testing.assert_array_equal(first[-1], first[0])  # a picture at two rows
