"""The reference study's two OpenCLIP raters. Plain Python: no Django, no Celery.

Embedding similarity (ES): yes if cos(image, label) > threshold; the score is the cosine.
Concept proportion (CP): rank the label among the study's concept set by similarity to the
image; yes if rank <= proportion x |S|. Rank 1 is the most similar concept; a concept ties
in the label's favour (only strictly more similar concepts push the label down). A label
missing from the concept set is added to it for ranking (|S| + 1) and listed in the run notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluation.raters.base import (
    LOOPBACK_SITE,
    Pair,
    PairVerdict,
    RaterContext,
    RaterSite,
    RaterUnavailable,
)
from evaluation.raters.clip_encoder import ClipEncoder, load_encoder, pick_device
from evaluation.raters.clip_spec import check_clip_params, spec_from_params
from evaluation.raters.openclip_dense import (
    embed_probe_set,
    rank_proportions,
    similarity_scores,
)

DEFAULT_BATCH = {"cpu": 64, "cuda": 512}


def _batch_size(params: dict[str, Any], encoder: ClipEncoder, context: RaterContext) -> int:
    chosen = context.batch_size or params.get("batch_size")
    return int(chosen or DEFAULT_BATCH.get(encoder.device.split(":")[0], 64))


class _ProbeSetImages:
    """What both raters share for scoring a whole probe set (`raters.base.DenseRater`)."""

    params: dict[str, Any]
    encoder: ClipEncoder

    @property
    def image_model_key(self) -> str:
        return self.encoder.model_key

    def embed_probe_set(
        self, image_sha256s: Sequence[str], context: RaterContext, start: int = 0
    ) -> np.ndarray:
        context.notes["encoder"] = self.encoder.describe()
        batch = _batch_size(self.params, self.encoder, context)
        return embed_probe_set(self.encoder, image_sha256s, context, batch, start)


class EmbeddingSimilarityRater(_ProbeSetImages):
    dense_dtype = "float16"  # cosines: float16 keeps 1e-4 of them, half the bytes of float32

    def __init__(self, params: dict[str, Any], encoder: ClipEncoder):
        self.params = params
        self.encoder = encoder
        self.threshold = float(params["threshold"])

    def score_probe_set(
        self, labels: Sequence[str], images: np.ndarray, context: RaterContext
    ) -> np.ndarray:
        return similarity_scores(self.encoder, labels, images, context)

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        context.notes["encoder"] = self.encoder.describe()
        images = self.encoder.embed_images(
            [p.image_sha256 for p in pairs],
            context,
            _batch_size(self.params, self.encoder, context),
        )
        labels = self.encoder.embed_texts([p.label for p in pairs], context)
        with context.timer.stage("score"):
            img = np.stack([images[p.image_sha256] for p in pairs])
            txt = np.stack([labels[p.label] for p in pairs])
            cosines = np.einsum("ij,ij->i", img, txt)
        return [
            PairVerdict(p.pair_id, "yes" if c > self.threshold else "no", float(c))
            for p, c in zip(pairs, cosines, strict=True)
        ]


class ConceptProportionRater(_ProbeSetImages):
    dense_dtype = "float32"  # rank / |S|, exact for |S| up to millions

    def __init__(self, params: dict[str, Any], encoder: ClipEncoder):
        self.params = params
        self.encoder = encoder
        self.proportion = float(params["proportion"])
        self._sets: dict[int, tuple[tuple[str, ...], np.ndarray, dict[str, int]]] = {}

    def _concepts(self, context: RaterContext) -> tuple[np.ndarray, dict[str, int]]:
        if not context.concepts:
            raise RaterUnavailable(
                "concept proportion needs the study's concept set: give the study one first"
            )
        concepts = tuple(context.concepts)
        cached = self._sets.get(id(context.concepts))
        if cached is None or cached[0] != concepts:
            vectors = self.encoder.embed_texts(concepts, context)
            matrix = np.stack([vectors[c] for c in concepts])
            index = {c: i for i, c in reversed(list(enumerate(concepts)))}
            cached = (concepts, matrix, index)
            self._sets = {id(context.concepts): cached}
        return cached[1], cached[2]

    def score_probe_set(
        self, labels: Sequence[str], images: np.ndarray, context: RaterContext
    ) -> np.ndarray:
        matrix, index = self._concepts(context)
        outside = sorted({label for label in labels if label not in index})
        if outside:
            added = context.notes.setdefault("labels_added_to_concept_set", [])
            added.extend(label for label in outside if label not in added)
        return rank_proportions(self.encoder, labels, images, matrix, index, context)

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        context.notes["encoder"] = self.encoder.describe()
        matrix, index = self._concepts(context)
        images = self.encoder.embed_images(
            [p.image_sha256 for p in pairs],
            context,
            _batch_size(self.params, self.encoder, context),
        )
        outside = sorted({p.label for p in pairs if p.label not in index})
        extra_vectors = self.encoder.embed_texts(outside, context) if outside else {}
        if outside:
            added = context.notes.setdefault("labels_added_to_concept_set", [])
            added.extend(label for label in outside if label not in added)
        with context.timer.stage("score"):
            img = np.stack([images[p.image_sha256] for p in pairs])
            sims = img @ matrix.T  # pairs x |S|
            own = np.array(
                [
                    sims[i, index[p.label]]
                    if p.label in index
                    else float(img[i] @ extra_vectors[p.label])
                    for i, p in enumerate(pairs)
                ],
                dtype=sims.dtype,
            )
            ranks = 1 + (sims > own[:, None]).sum(axis=1)
        verdicts = []
        for p, rank, similarity in zip(pairs, ranks, own, strict=True):
            size = len(matrix) + (p.label not in index)
            extra = {"rank": int(rank), "of": size, "similarity": float(similarity)}
            if p.label not in index:
                extra["label_added"] = True
            verdict = "yes" if rank <= self.proportion * size else "no"
            verdicts.append(PairVerdict(p.pair_id, verdict, float(rank) / size, extra))
        return verdicts


def _encoder_for(kind: str, params: dict[str, Any], device: str) -> tuple[dict, ClipEncoder]:
    full = check_clip_params(kind, params) if "checkpoint_sha256" not in params else params
    return full, load_encoder(spec_from_params(full), pick_device(device))


def build_embedding_similarity(
    params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE
) -> EmbeddingSimilarityRater:
    full, encoder = _encoder_for("openclip_es", params, device)
    return EmbeddingSimilarityRater(full, encoder)


def build_concept_proportion(
    params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE
) -> ConceptProportionRater:
    full, encoder = _encoder_for("openclip_cp", params, device)
    return ConceptProportionRater(full, encoder)
