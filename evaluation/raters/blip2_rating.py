"""BLIP-2 as a label rater: a 1-5 rating and a yes/no per label, read from one forward pass.

BLIP-2 reads one image per prompt: it was trained with one image's query tokens in front of
the text, so stacking k images' query tokens is input it never saw, and a grid squeezes k
images into one 224-pixel input where each is a thumbnail. A label's k images are therefore
rated one by one and the label's rating combines the k ratings (`combine`): by default the
mean, the model's expected rating of one of the neuron's images drawn at random; or the max.

Per image the rating is the expected value over the answer-position probabilities of the
tokens "1".."5", E = sum_r r p(r) / sum_r p(r), each p(r) summed over the spellings "1" and
" 1" as the yes/no scorer sums "yes" and " yes". The yes/no is the reference study's
any-of-k: yes when any image's P(yes) / (P(yes) + P(no)) passes the threshold. Both prompts
of every image in a chunk go through the language model together, `batch_size` prompts per
forward pass (no `generate()`), and every image through the vision side once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from evaluation.raters.base import (
    LOOPBACK_SITE,
    LabelItem,
    LabelRating,
    Pair,
    PairVerdict,
    RaterContext,
    RaterSite,
    RaterUnavailable,
)
from evaluation.raters.blip2 import (
    Blip2Rater,
    answer_token_ids,
    load_blip2,
    yes_no_probabilities,
)
from evaluation.raters.vqa_blip2_rating_settings import (
    Blip2RatingSettings,
    check_blip2_rating_params,
)
from evaluation.raters.vqa_blip2_settings import Blip2Settings

RATINGS = (1, 2, 3, 4, 5)


def rating_token_ids(tokenizer: Any) -> list[list[int]]:
    """Per rating 1..5, the ids of the single tokens that spell it ("1", " 1")."""
    ids = [answer_token_ids(tokenizer, [str(r)]) for r in RATINGS]
    flat = [i for group in ids for i in group]
    if not all(ids) or len(set(flat)) != len(flat):
        raise RaterUnavailable("the BLIP-2 tokenizer has no single-token answers '1' to '5'")
    return ids


def rating_probabilities(
    logits: torch.Tensor, rating_ids: Sequence[Sequence[int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """P(r) over the whole vocabulary, (batch, 5), and the expected rating, (batch,). The
    expectation is taken in log space so that tiny digit probabilities cannot underflow."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    log_mass = torch.stack(
        [torch.logsumexp(log_probs[:, list(ids)], dim=-1) for ids in rating_ids], dim=-1
    )
    weights = torch.tensor(RATINGS, dtype=log_mass.dtype, device=log_mass.device)
    expected = (torch.softmax(log_mass, dim=-1) * weights).sum(dim=-1)
    return log_mass.exp(), expected


class Blip2LabelRater:
    """Rates labels with a loaded BLIP-2, through the yes/no scorer's feature cache."""

    def __init__(self, model: Any, processor: Any, settings: Blip2RatingSettings) -> None:
        self.settings = settings
        self.scorer = Blip2Rater(model, processor, scorer_settings(settings))
        self.rating_ids = rating_token_ids(self.scorer.tokenizer)
        self.forward_passes = 0

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        raise RaterUnavailable(
            "this BLIP-2 rater rates labels with their images, not (neuron, image) pairs: "
            "run it on a label_rating study"
        )

    def rate_labels(self, items: Sequence[LabelItem], context: RaterContext) -> list[LabelRating]:
        rows = [
            (index, sha, question)
            for index, item in enumerate(items)
            for sha in item.image_sha256s
            for question in ("rating", "yes_no")
        ]
        batch = int(context.batch_size or self.settings.batch_size)
        found: list[dict[str, Any]] = []
        with torch.inference_mode():
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                self.scorer.ensure_features([sha for _, sha, _ in chunk], context)
                with context.timer.stage("score"):
                    found.extend(self._score(chunk, items))
        context.notes["blip2_rating_prompts_per_pass"] = batch
        per_item: list[list[dict[str, Any]]] = [[] for _ in items]
        for (index, _, _), result in zip(rows, found, strict=True):
            per_item[index].append(result)
        return [self._rating(item, mine) for item, mine in zip(items, per_item, strict=True)]

    def _score(
        self, rows: Sequence[tuple[int, str, str]], items: Sequence[LabelItem]
    ) -> list[dict[str, Any]]:
        templates = {"rating": self.settings.prompt, "yes_no": self.settings.yes_no_prompt}
        logits = self.scorer.answer_logits(
            [self.scorer.features(sha) for _, sha, _ in rows],
            [templates[q].format(label=items[i].label) for i, _, q in rows],
        )
        self.forward_passes += 1
        p_rating, expected = rating_probabilities(logits, self.rating_ids)
        p_yes, p_no, yes_score = yes_no_probabilities(
            logits, self.scorer.yes_ids, self.scorer.no_ids
        )
        ratings = [
            {"p": p, "expected": e}
            for p, e in zip(p_rating.tolist(), expected.tolist(), strict=True)
        ]
        answers = [
            {"p_yes": y, "p_no": n, "score": score}
            for y, n, score in zip(p_yes.tolist(), p_no.tolist(), yes_score.tolist(), strict=True)
        ]
        return [
            ratings[row] if question == "rating" else answers[row]
            for row, (_, _, question) in enumerate(rows)
        ]

    def _rating(self, item: LabelItem, results: list[dict[str, Any]]) -> LabelRating:
        ratings = [r for r in results if "expected" in r]
        answers = [r for r in results if "score" in r]
        expected = [r["expected"] for r in ratings]
        rating = max(expected) if self.settings.combine == "max" else sum(expected) / len(expected)
        normalised = [[p / sum(r["p"]) for p in r["p"]] for r in ratings]
        mean_p = [sum(column) / len(column) for column in zip(*normalised, strict=True)]
        yes_images = sum(r["score"] > self.settings.threshold for r in answers)
        return LabelRating(
            item.item_id,
            rating=rating,
            answer=str(RATINGS[mean_p.index(max(mean_p))]),
            unparseable=False,
            prompt=self.settings.prompt.format(label=item.label),
            verdict="yes" if yes_images else "no",
            extra={
                "image_ratings": expected,
                "p_rating": mean_p,  # renormalised over 1..5, mean over the images
                "rating_mass": [sum(r["p"]) for r in ratings],  # P("1".."5") of the vocabulary
                "yes_scores": [r["score"] for r in answers],
                "yes_images": yes_images,
                "yes_no_prompt": self.settings.yes_no_prompt.format(label=item.label),
            },
        )


def scorer_settings(settings: Blip2RatingSettings) -> Blip2Settings:
    """The yes/no scorer's settings that share this rater's model, batching and cache."""
    return Blip2Settings(
        model=settings.model,
        revision=settings.revision,
        prompt=settings.yes_no_prompt,
        threshold=settings.threshold,
        batch_size=settings.batch_size,
        image_batch_size=settings.image_batch_size,
        image_cache=settings.image_cache,
        decode_workers=settings.decode_workers,
    )


def build_blip2_rating(
    params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE
) -> Blip2LabelRater:
    settings = check_blip2_rating_params(params)
    model, processor = load_blip2(scorer_settings(settings), device)
    return Blip2LabelRater(model, processor, settings)
