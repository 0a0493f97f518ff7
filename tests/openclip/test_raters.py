"""ES and CP on a tiny random open_clip model, checked against independent computations."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from evaluation.raters.base import MemoryVectorCache, Pair
from evaluation.raters.clip_encoder import encode_text_truncated
from evaluation.raters.openclip import ConceptProportionRater, EmbeddingSimilarityRater
from tests.doubles.tiny_clip import MemoryImages, tiny_encoder
from tests.helpers import png_bytes

CONCEPTS = ["red", "green", "blue", "dog", "a striped yellow square", "sky", "car", "tree"]


def _pairs(images: MemoryImages, n: int = 12, labels=CONCEPTS) -> list[Pair]:
    colors = [(220, 40, 40), (40, 80, 220), (40, 170, 60), (235, 210, 40)]
    pairs = []
    for i in range(n):
        sha = images.add(png_bytes(colors[i % 4], size=(40, 40), seed=i))
        pairs.append(Pair(i + 1, sha, labels[i % len(labels)]))
    return pairs


def _reference_vectors(encoder, images: MemoryImages, pairs):
    """Independent path: open_clip's own encode_image / encode_text, one item at a time."""
    model, tok = encoder.model, encoder.tokenizer
    with torch.no_grad():
        img = torch.cat(
            [
                model.encode_image(
                    encoder.preprocess(
                        Image.open(io.BytesIO(images.blobs[p.image_sha256])).convert("RGB")
                    )[None],
                    normalize=True,
                )
                for p in pairs
            ]
        )
        txt = torch.cat([model.encode_text(tok([p.label]), normalize=True) for p in pairs])
    return img.numpy(), txt.numpy()


def test_es_score_is_cosine_and_verdict_is_threshold(context_factory):
    encoder = tiny_encoder()
    images = MemoryImages()
    pairs = _pairs(images)
    img, txt = _reference_vectors(encoder, images, pairs)
    expected = (img * txt).sum(1) / np.linalg.norm(img, axis=1) / np.linalg.norm(txt, axis=1)
    threshold = float(np.median(expected))
    rater = EmbeddingSimilarityRater({"threshold": threshold}, encoder)
    verdicts = rater.rate(pairs, context_factory(images))
    assert np.allclose([v.score for v in verdicts], expected, atol=1e-5)
    assert [v.verdict for v in verdicts] == ["yes" if e > threshold else "no" for e in expected]
    assert {v.verdict for v in verdicts} == {"yes", "no"}


def test_cp_rank_equals_brute_force_sort(context_factory):
    encoder = tiny_encoder()
    images = MemoryImages()
    pairs = _pairs(images)
    img, _ = _reference_vectors(encoder, images, pairs)
    with torch.no_grad():
        concept_vecs = encoder.model.encode_text(
            encoder.tokenizer(CONCEPTS), normalize=True
        ).numpy()
    rater = ConceptProportionRater({"proportion": 0.25}, encoder)
    verdicts = rater.rate(pairs, context_factory(images, concepts=CONCEPTS))
    for pair, verdict, vec in zip(pairs, verdicts, img, strict=True):
        order = sorted(CONCEPTS, key=lambda c: -float(vec @ concept_vecs[CONCEPTS.index(c)]))
        rank = order.index(pair.label) + 1
        assert verdict.extra["rank"] == rank
        assert verdict.extra["of"] == len(CONCEPTS)
        assert verdict.score == pytest.approx(rank / len(CONCEPTS))
        assert verdict.verdict == ("yes" if rank <= 0.25 * len(CONCEPTS) else "no")


def test_cp_label_outside_concept_set_is_added_and_noted(context_factory):
    encoder = tiny_encoder()
    images = MemoryImages()
    pairs = _pairs(images, n=4, labels=["red", "zebra crossing"])
    context = context_factory(images, concepts=CONCEPTS)
    verdicts = ConceptProportionRater({"proportion": 0.5}, encoder).rate(pairs, context)
    assert context.notes["labels_added_to_concept_set"] == ["zebra crossing"]
    assert [v.extra["of"] for v in verdicts] == [8, 9, 8, 9]
    assert [v.extra.get("label_added", False) for v in verdicts] == [False, True, False, True]
    assert all(1 <= v.extra["rank"] <= v.extra["of"] for v in verdicts)


def test_cp_without_concept_set_is_a_clear_error(context_factory):
    from evaluation.raters.base import RaterUnavailable

    images = MemoryImages()
    with pytest.raises(RaterUnavailable, match="concept set"):
        ConceptProportionRater({"proportion": 0.1}, tiny_encoder()).rate(
            _pairs(images, 2), context_factory(images)
        )


@pytest.mark.parametrize("batch_size", [1, 5])
def test_results_do_not_depend_on_batch_size(context_factory, batch_size):
    images = MemoryImages()
    pairs = _pairs(images, n=11)
    big = EmbeddingSimilarityRater({"threshold": 0.0}, tiny_encoder()).rate(
        pairs, context_factory(images, batch_size=64)
    )
    small = EmbeddingSimilarityRater({"threshold": 0.0}, tiny_encoder()).rate(
        pairs, context_factory(images, batch_size=batch_size)
    )
    assert np.allclose([v.score for v in big], [v.score for v in small], atol=1e-5)
    cp_big = ConceptProportionRater({"proportion": 0.25}, tiny_encoder()).rate(
        pairs, context_factory(images, concepts=CONCEPTS, batch_size=64)
    )
    cp_small = ConceptProportionRater({"proportion": 0.25}, tiny_encoder()).rate(
        pairs, context_factory(images, concepts=CONCEPTS, batch_size=batch_size)
    )
    assert [v.extra["rank"] for v in cp_big] == [v.extra["rank"] for v in cp_small]


def test_cache_is_hit_on_rerun_and_shared_by_cp_and_es(context_factory):
    images = MemoryImages()
    pairs = _pairs(images, n=10)
    cache = MemoryVectorCache()
    first = tiny_encoder()
    EmbeddingSimilarityRater({"threshold": 0.1}, first).rate(
        pairs, context_factory(images, cache=cache)
    )
    assert first.calls["images"] >= 1 and first.calls["texts"] >= 1
    reads = images.reads

    # A new process (fresh encoder, same weights and key): CP reuses ES's image embeddings,
    # and a second ES run recomputes nothing at all.
    second = tiny_encoder()
    ConceptProportionRater({"proportion": 0.25}, second).rate(
        pairs, context_factory(images, concepts=CONCEPTS, cache=cache)
    )
    # the labels are concepts too, so ES already cached every text CP needs
    assert second.calls == {"images": 0, "texts": 0} and images.reads == reads
    third = tiny_encoder()
    EmbeddingSimilarityRater({"threshold": 0.1}, third).rate(
        pairs, context_factory(images, cache=cache)
    )
    assert third.calls == {"images": 0, "texts": 0}
    assert images.reads == reads


def test_truncated_text_encoding_equals_full_length(encoder):
    texts = ["red", "a photo of a dog", "x", "a striped yellow square on a table", *CONCEPTS]
    tokens = encoder.tokenizer(texts)
    with torch.no_grad():
        full = encoder.model.encode_text(tokens, normalize=True)
        short = encode_text_truncated(encoder.model, tokens)
    assert tokens.shape[1] == 77
    assert int((tokens != 0).sum(1).max()) < 12  # the truncated pass really is shorter
    assert torch.allclose(full, short, atol=1e-5)
    # and through the encoder's batched, length-sorted path
    from evaluation.raters.base import RaterContext, StageTimer
    from tests.doubles.tiny_clip import MemoryImages as _Images

    vectors = tiny_encoder().embed_texts(
        texts, RaterContext(images=_Images(), timer=StageTimer()), 3
    )
    assert np.allclose(np.stack([vectors[t] for t in texts]), full.numpy(), atol=1e-5)
