"""A yes/no rater backed by any OpenAI-compatible vision chat endpoint (vLLM, Ollama, llama.cpp).

Each pair is one chat request (or `samples` requests) with the image as a base64 data URL,
sent through `ChatEndpoint` (retries, bounded concurrency). The answer text is parsed strictly
(see `vqa_answers`): an answer that is not a clear yes or no is stored as "unparseable" with
the raw text, never guessed. The API key is read from an environment variable named in the
parameters, so it never lands in the database; the variable and the host are fenced (see
`vqa_openai_settings`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import httpx

from evaluation.raters.base import LOOPBACK_SITE, Pair, PairVerdict, RaterContext, RaterSite
from evaluation.raters.chat_endpoint import (  # noqa: F401 (re-exported)
    RETRY_STATUSES,
    ChatEndpoint,
    EndpointError,
    image_data_url,
)
from evaluation.raters.vqa_answers import parse_yes_no
from evaluation.raters.vqa_openai_settings import OpenAIVQASettings, check_openai_vqa_params


def verdict_from_answers(pair_id: int, answers: Sequence[str], threshold: float) -> PairVerdict:
    """Yes-fraction over the parseable answers; no parseable answer at all: unparseable."""
    parsed = [parse_yes_no(answer) for answer in answers]
    yes, no = parsed.count("yes"), parsed.count("no")
    extra = {"answers": list(answers), "yes": yes, "no": no, "unparseable": len(parsed) - yes - no}
    if yes + no == 0:
        return PairVerdict(pair_id, "unparseable", score=None, extra=extra)
    score = yes / (yes + no)
    return PairVerdict(pair_id, "yes" if score > threshold else "no", score=score, extra=extra)


class OpenAIVQARater:
    def __init__(
        self, settings: OpenAIVQASettings, site: RaterSite, api_key: str | None = None
    ) -> None:
        self.settings = settings
        self.endpoint = ChatEndpoint(settings, site, api_key)

    @property
    def client(self) -> httpx.Client:
        return self.endpoint.client

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        with context.timer.stage("read_images"):
            urls = {
                sha: image_data_url(context.images.read(sha))
                for sha in dict.fromkeys(p.image_sha256 for p in pairs)
            }
        jobs = [(pair, sample) for pair in pairs for sample in range(self.settings.samples)]
        with context.timer.stage("score"):
            answers = self.endpoint.ask_all(
                [self.content(urls[pair.image_sha256], pair.label) for pair, _ in jobs]
            )
        verdicts = []
        per_pair = self.settings.samples
        for index, pair in enumerate(pairs):
            mine = answers[index * per_pair : (index + 1) * per_pair]
            verdicts.append(verdict_from_answers(pair.pair_id, mine, self.settings.threshold))
        return verdicts

    def content(self, image_url: str, label: str) -> list[dict[str, Any]]:
        """The user message of one pair: the question, then the image."""
        return [
            {"type": "text", "text": self.settings.prompt.format(label=label)},
            {"type": "image_url", "image_url": {"url": image_url}},
        ]


def build_openai_vqa(
    params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE
) -> OpenAIVQARater:
    settings = check_openai_vqa_params(params, site)
    return OpenAIVQARater(settings, site, api_key=os.environ.get(settings.api_key_env) or None)
