"""A yes/no rater backed by any OpenAI-compatible vision chat endpoint (vLLM, Ollama, llama.cpp).

Each pair is one chat request (or `samples` requests) with the image as a base64 data URL.
Requests run on a bounded thread pool; connection errors, timeouts, 429 and 5xx answers are
retried with exponential backoff. The answer text is parsed strictly (see `vqa_answers`): an
answer that is not a clear yes or no is stored as "unparseable" with the raw text, never guessed.
The API key is read from an environment variable named in the parameters, so it never lands in
the database.
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
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from evaluation.raters.base import Pair, PairVerdict, RaterContext, RaterUnavailable
from evaluation.raters.vqa_answers import parse_yes_no
from evaluation.raters.vqa_params import settings_as_params, settings_from_params

DEFAULT_PROMPT = "Does this image relate to the concept of '{label}', answer in one word Yes or No"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class OpenAIVQASettings:
    """The rater's parameters as stored in `Rater.params`; `base_url` and `model` are required."""

    base_url: str
    model: str
    api_key_env: str = "NEURONJUDGE_VQA_API_KEY"
    prompt: str = DEFAULT_PROMPT
    samples: int = 1  # the reference asked three times and took the majority
    temperature: float | None = None  # None: the server's default
    max_tokens: int = 10
    threshold: float = 0.5  # yes-fraction above which the verdict is yes
    concurrency: int = 4
    timeout_s: float = 60.0
    retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0


class EndpointError(RaterUnavailable):
    """The endpoint kept failing after every retry, or refused the request outright."""


def check_openai_vqa_params(params: dict[str, Any]) -> OpenAIVQASettings:
    """Validate rater parameters; raise ValueError naming what is wrong."""
    if isinstance(params, dict) and "api_key" in params:
        raise ValueError(
            "do not store an API key in the rater parameters: put it in an environment "
            "variable on the workers and name that variable in 'api_key_env'"
        )
    settings = settings_from_params(OpenAIVQASettings, params, "OpenAI VQA")
    if not settings.base_url.startswith(("http://", "https://")):
        raise ValueError("base_url must start with http:// or https://")
    if "{label}" not in settings.prompt:
        raise ValueError("the prompt must contain '{label}'")
    for name in ("samples", "concurrency", "max_tokens"):
        if int(getattr(settings, name)) < 1:
            raise ValueError(f"{name} must be at least 1")
    if settings.retries < 0 or settings.timeout_s <= 0 or settings.backoff_s < 0:
        raise ValueError("retries and backoff_s must be 0 or more, timeout_s above 0")
    if not 0.0 <= settings.threshold < 1.0:
        raise ValueError("threshold must lie in [0, 1)")
    return settings


def full_openai_vqa_params(params: dict[str, Any]) -> dict[str, Any]:
    """Validated parameters with every default filled in, as stored on the Rater."""
    return settings_as_params(check_openai_vqa_params(params))


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
    def __init__(self, settings: OpenAIVQASettings, api_key: str | None = None) -> None:
        self.settings = settings
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=settings.concurrency),
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


def build_openai_vqa(params: dict[str, Any], device: str) -> OpenAIVQARater:
    settings = check_openai_vqa_params(params)
    return OpenAIVQARater(settings, api_key=os.environ.get(settings.api_key_env) or None)
