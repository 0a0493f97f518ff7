"""OpenAI-compatible endpoint rater parameters, without httpx or torch: the web process checks
them at rater creation, the worker again before it sends anything.

A staff user chooses `base_url` and `api_key_env`, so both are fenced: the key may only come
from a variable named NEURONJUDGE_VQA_*, and it is only sent to a host on the deployment's
allow-list (settings.NEURONJUDGE_VQA_ALLOWED_HOSTS). Otherwise any secret in the workers'
environment could be sent to any server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from evaluation.raters.base import LOOPBACK_SITE, RaterSite
from evaluation.raters.vqa_params import settings_as_params, settings_from_params

DEFAULT_PROMPT = "Does this image relate to the concept of '{label}', answer in one word Yes or No"
KEY_ENV_PREFIX = "NEURONJUDGE_VQA_"


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


class EndpointNotAllowed(ValueError):
    """The parameters name a host or a key variable this deployment does not allow."""


def check_endpoint(settings: OpenAIVQASettings, site: RaterSite) -> None:
    """Refuse a key variable outside NEURONJUDGE_VQA_* and a host not on the allow-list."""
    if not settings.api_key_env.startswith(KEY_ENV_PREFIX):
        raise EndpointNotAllowed(
            f"api_key_env must name an environment variable starting with {KEY_ENV_PREFIX}, "
            f"got {settings.api_key_env!r}"
        )
    try:
        host = (urlsplit(settings.base_url).hostname or "").lower()
    except ValueError as exc:
        raise EndpointNotAllowed(f"base_url is not a valid URL: {exc}") from None
    if host not in {h.lower() for h in site.allowed_hosts}:
        allowed = ", ".join(sorted(site.allowed_hosts)) or "none"
        raise EndpointNotAllowed(
            f"base_url host {host!r} is not in NEURONJUDGE_VQA_ALLOWED_HOSTS ({allowed})"
        )


def check_openai_vqa_params(
    params: dict[str, Any], site: RaterSite = LOOPBACK_SITE
) -> OpenAIVQASettings:
    """Validate rater parameters; raise ValueError naming what is wrong."""
    if isinstance(params, dict) and "api_key" in params:
        raise ValueError(
            "do not store an API key in the rater parameters: put it in an environment "
            f"variable ({KEY_ENV_PREFIX}...) on the workers and name that variable in "
            "'api_key_env'"
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
    check_endpoint(settings, site)
    return settings


def full_openai_vqa_params(
    params: dict[str, Any], site: RaterSite = LOOPBACK_SITE
) -> dict[str, Any]:
    """Validated parameters with every default filled in, as stored on the Rater."""
    return settings_as_params(check_openai_vqa_params(params, site))
