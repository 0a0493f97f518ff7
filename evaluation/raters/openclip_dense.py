"""The OpenCLIP raters over a whole probe set: every image embedded once (the shared cache
makes later runs and other labels free), then per batch of labels one product with the
image matrix. Plain Python: no Django, no Celery.

ES scores are the cosines the pair rater gives; CP scores its rank proportions rank / |S|
(the label's rank among the concept set per image, ties in the label's favour). Images are
taken in blocks so no similarity matrix exceeds BLOCK_ELEMENTS values, whatever the size of
the probe set or the concept set.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from evaluation.raters.base import RaterContext
from evaluation.raters.clip_encoder import ClipEncoder

BLOCK_ELEMENTS = 1 << 24  # one block's similarities: 64 MB of float32
EMBED_SLICE = 4096  # images embedded between two looks at the shared cache


def image_blocks(n_images: int, per_image: int) -> Iterator[slice]:
    step = max(1, BLOCK_ELEMENTS // max(1, per_image))
    for start in range(0, n_images, step):
        yield slice(start, min(start + step, n_images))


def embed_probe_set(
    encoder: ClipEncoder, shas: Sequence[str], context: RaterContext, batch_size: int, start: int
) -> np.ndarray:
    """Unit vectors `[len(shas), d]`, row i for shas[i]. Images not cached are embedded in
    slices from position `start` round the list, each slice asking the cache again first:
    workers that begin at different places share the work instead of repeating it."""
    unique = list(dict.fromkeys(shas))
    found = context.cache.get_many(encoder.model_key, "image", unique) if context.cache else {}
    missing = [sha for sha in unique if sha not in found]
    if missing:
        offset = start % len(missing)
        missing = missing[offset:] + missing[:offset]
        for first in range(0, len(missing), EMBED_SLICE):
            part = missing[first : first + EMBED_SLICE]
            found.update(encoder.embed_images(part, context, batch_size))
    return np.stack([np.asarray(found[sha], dtype=np.float32) for sha in shas])


def _tensor(array: np.ndarray, device: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(device)


def similarity_scores(
    encoder: ClipEncoder, labels: Sequence[str], images: np.ndarray, context: RaterContext
) -> np.ndarray:
    """ES: cos(image, label), `[len(labels), n_images]` float32."""
    vectors = encoder.embed_texts(labels, context)
    text = _tensor(np.stack([vectors[label] for label in labels]), encoder.device)
    out = np.empty((len(labels), len(images)), dtype=np.float32)
    with context.timer.stage("score"):
        for block in image_blocks(len(images), len(labels)):
            out[:, block] = (text @ _tensor(images[block], encoder.device).T).cpu().numpy()
    return out


def rank_proportions(
    encoder: ClipEncoder,
    labels: Sequence[str],
    images: np.ndarray,
    concepts: np.ndarray,
    index: dict[str, int],
    context: RaterContext,
) -> np.ndarray:
    """CP: rank / |S| of each label per image, `[len(labels), n_images]` float32. A label in
    the concept set takes its similarity from the same product as the concepts (so it never
    outranks itself); one outside it is ranked among |S| + 1."""
    device = encoder.device
    inside = [j for j, label in enumerate(labels) if label in index]
    outside = [j for j, label in enumerate(labels) if label not in index]
    vectors = encoder.embed_texts([labels[j] for j in outside], context) if outside else {}
    concept_t = _tensor(concepts, device)
    columns = torch.tensor([index[labels[j]] for j in inside], dtype=torch.long, device=device)
    inside_t = torch.tensor(inside, dtype=torch.long, device=device)
    outside_t = torch.tensor(outside, dtype=torch.long, device=device)
    extra_t = _tensor(np.stack([vectors[labels[j]] for j in outside]), device) if outside else None
    size = np.array([len(concepts) + (label not in index) for label in labels], dtype=np.float64)
    out = np.empty((len(labels), len(images)), dtype=np.float32)
    with context.timer.stage("score"):
        for block in image_blocks(len(images), len(concepts) + len(labels)):
            img = _tensor(images[block], device)
            sims = img @ concept_t.T  # block x |S|
            own = torch.empty((len(img), len(labels)), dtype=sims.dtype, device=device)
            if inside:
                own[:, inside_t] = sims[:, columns]
            if extra_t is not None:
                own[:, outside_t] = img @ extra_t.T
            ranked = torch.sort(sims, dim=1).values
            greater = len(concepts) - torch.searchsorted(ranked, own.contiguous(), right=True)
            ranks = (1 + greater).cpu().numpy().T
            out[:, block] = ranks / size[:, None]
    return out
