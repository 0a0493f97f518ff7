"""One OpenAI-compatible chat endpoint: requests with retries, bounded concurrency, and the
answer text of each, shared by the endpoint's yes/no rater and its label rater.

Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff; the
first request that fails for good stops the rest from starting, so a dead endpoint fails a
chunk fast. The fence (`check_endpoint`) is checked again here, on the worker, because a
stored row may predate the rules.
"""

from __future__ import annotations

import base64
import io
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from PIL import Image

from evaluation.raters.base import RaterSite, RaterUnavailable
from evaluation.raters.vqa_openai_settings import EndpointSettings, check_endpoint

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class EndpointError(RaterUnavailable):
    """The endpoint kept failing after every retry, or refused the request outright."""


def image_data_url(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        mime = Image.MIME.get(image.format or "", "image/png")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class ChatEndpoint:
    def __init__(self, settings: EndpointSettings, site: RaterSite, api_key: str | None) -> None:
        check_endpoint(settings, site)
        self.settings = settings
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=settings.concurrency),
            follow_redirects=False,  # a redirect must not carry the key to another host
        )

    def ask_all(self, contents: list[list[dict[str, Any]]]) -> list[str]:
        """The answers to these user messages in order, at most `concurrency` in flight."""
        failed = threading.Event()

        def ask_unless_failed(content: list[dict[str, Any]]) -> str:
            if failed.is_set():
                raise EndpointError("skipped: another request to the endpoint failed")
            try:
                return self.ask(content)
            except Exception:
                failed.set()
                raise

        with ThreadPoolExecutor(self.settings.concurrency) as pool:
            futures = [pool.submit(ask_unless_failed, content) for content in contents]
            return [future.result() for future in futures]

    def ask(self, content: list[dict[str, Any]]) -> str:
        """One chat completion of one user message; the answer text (raw body if none)."""
        body: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": self.settings.max_tokens,
            "messages": [{"role": "user", "content": content}],
        }
        if self.settings.temperature is not None:
            body["temperature"] = self.settings.temperature
        response = self._post_with_retries(body)
        try:
            answer = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return response.text
        if isinstance(answer, list):  # content parts
            answer = " ".join(part.get("text", "") for part in answer if isinstance(part, dict))
        return answer if isinstance(answer, str) else response.text  # e.g. null content

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
