"""A yes/no rater backed by any OpenAI-compatible vision chat endpoint (vLLM, Ollama, llama.cpp).

Each pair is one chat request (or `samples` requests) with the image as a base64 data URL.
Requests run on a bounded thread pool; connection errors, timeouts, 429 and 5xx answers are
retried with exponential backoff. The answer text is parsed strictly (see `vqa_answers`): an
answer that is not a clear yes or no is stored as "unparseable" with the raw text, never guessed.
The API key is read from an environment variable named in the parameters, so it never lands in
the database; the variable and the host are fenced (see `vqa_openai_settings`).
"""

from __future__ import annotations

import base64
import io
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from PIL import Image

from evaluation.raters.base import (
    LOOPBACK_SITE,
    Pair,
    PairVerdict,
    RaterContext,
    RaterSite,
    RaterUnavailable,
)
from evaluation.raters.vqa_answers import parse_yes_no
from evaluation.raters.vqa_openai_settings import (
    OpenAIVQASettings,
    check_endpoint,
    check_openai_vqa_params,
)

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class EndpointError(RaterUnavailable):
    """The endpoint kept failing after every retry, or refused the request outright."""


def image_data_url(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        mime = Image.MIME.get(image.format or "", "image/png")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


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
        check_endpoint(settings, site)  # again on the worker: the row may predate the rules
        self.settings = settings
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=settings.concurrency),
            follow_redirects=False,  # a redirect must not carry the key to another host
        )

    def rate(self, pairs: Sequence[Pair], context: RaterContext) -> list[PairVerdict]:
        with context.timer.stage("read_images"):
            urls = {
                sha: image_data_url(context.images.read(sha))
                for sha in dict.fromkeys(p.image_sha256 for p in pairs)
            }
        jobs = [(pair, sample) for pair in pairs for sample in range(self.settings.samples)]
        with context.timer.stage("score"):
            answers = self._ask_all([(urls[pair.image_sha256], pair.label) for pair, _ in jobs])
        verdicts = []
        per_pair = self.settings.samples
        for index, pair in enumerate(pairs):
            mine = answers[index * per_pair : (index + 1) * per_pair]
            verdicts.append(verdict_from_answers(pair.pair_id, mine, self.settings.threshold))
        return verdicts

    def _ask_all(self, questions: list[tuple[str, str]]) -> list[str]:
        """Answers in order, at most `concurrency` requests in flight. The first question that
        fails for good stops the rest from starting, so a dead endpoint fails the chunk fast."""
        failed = threading.Event()

        def ask_unless_failed(url: str, label: str) -> str:
            if failed.is_set():
                raise EndpointError("skipped: another request to the endpoint failed")
            try:
                return self.ask(url, label)
            except Exception:
                failed.set()
                raise

        with ThreadPoolExecutor(self.settings.concurrency) as pool:
            futures = [pool.submit(ask_unless_failed, url, label) for url, label in questions]
            return [future.result() for future in futures]

    def ask(self, image_url: str, label: str) -> str:
        """One chat completion; returns the answer text (raw body if it has no answer)."""
        body: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": self.settings.max_tokens,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": self.settings.prompt.format(label=label)},
                        {"type": "image_url", "image_url": {"url": image_url}},
                    ],
                }
            ],
        }
        if self.settings.temperature is not None:
            body["temperature"] = self.settings.temperature
        response = self._post_with_retries(body)
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return response.text
        if isinstance(content, list):  # content parts
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        return content if isinstance(content, str) else response.text  # e.g. null content

    def _post_with_retries(self, body: dict[str, Any]) -> httpx.Response:
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                response = self.client.post("chat/completions", json=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                retry_after = None
            else:
                if response.status_code < 400:
                    return response
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUSES:
                    raise EndpointError(f"{self.settings.base_url} refused the request: {problem}")
                retry_after = _retry_after(response)
            if attempt + 1 < attempts:
                time.sleep(self._backoff(attempt, retry_after))
        raise EndpointError(
            f"{self.settings.base_url} failed {attempts} times; last error: {problem}"
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = self.settings.backoff_s * 2**attempt * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.settings.max_backoff_s)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def build_openai_vqa(
    params: dict[str, Any], device: str, site: RaterSite = LOOPBACK_SITE
) -> OpenAIVQARater:
    settings = check_openai_vqa_params(params, site)
    return OpenAIVQARater(settings, site, api_key=os.environ.get(settings.api_key_env) or None)
