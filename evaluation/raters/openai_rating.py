"""A label rater backed by any OpenAI-compatible vision chat endpoint.

Each label is one chat request: one user message holding the rating question and all k images
of its neuron (base64 data URLs), shown together as the human raters saw them. The answer is
parsed strictly (`parse_rating`): a leading whole number 1 to 5 counts, anything else is stored
as unparseable with its raw text. Requests, retries and the fence are `ChatEndpoint`'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

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
from evaluation.raters.chat_endpoint import ChatEndpoint, image_data_url
from evaluation.raters.vqa_answers import parse_rating
from evaluation.raters.vqa_openai_settings import OpenAIRatingSettings, check_openai_rating_params


class OpenAIRatingRater:
    def __init__(
        self, settings: OpenAIRatingSettings, site: RaterSite, api_key: str | None = None
    ) -> None:
        self.settings = settings
        self.endpoint = ChatEndpoint(settings, site, api_key)

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        raise RaterUnavailable(
            "this endpoint rater rates labels with their images, not (neuron, image) pairs: "
            "run it on a label_rating study"
        )

    def rate_labels(self, items: Sequence[LabelItem], context: RaterContext) -> list[LabelRating]:
        with context.timer.stage("read_images"):
            urls = {
                sha: image_data_url(context.images.read(sha))
                for sha in dict.fromkeys(sha for item in items for sha in item.image_sha256s)
            }
        prompts = [self.settings.prompt.format(label=item.label) for item in items]
        with context.timer.stage("score"):
            answers = self.endpoint.ask_all(
                [
                    self.content(prompt, [urls[sha] for sha in item.image_sha256s])
                    for item, prompt in zip(items, prompts, strict=True)
                ]
            )
        return [
            rating_from_answer(item, prompt, answer)
            for item, prompt, answer in zip(items, prompts, answers, strict=True)
        ]

    def content(self, prompt: str, image_urls: Sequence[str]) -> list[dict[str, Any]]:
        """One user message: the question, then every image of the neuron."""
        images = [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
        return [{"type": "text", "text": prompt}, *images]


def rating_from_answer(item: LabelItem, prompt: str, answer: str) -> LabelRating:
    rating = parse_rating(answer)
    return LabelRating(
        item.item_id,
        rating=None if rating is None else float(rating),
        answer=answer,
        unparseable=rating is None,
        prompt=prompt,
        extra={"images": len(item.image_sha256s)},
    )


def build_openai_rating(
    params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE
) -> OpenAIRatingRater:
    settings = check_openai_rating_params(params, site)
    return OpenAIRatingRater(settings, site, api_key=os.environ.get(settings.api_key_env) or None)
