"""OpenAI-compatible endpoint rater parameters, without httpx or torch: the web process checks
them at rater creation, the worker again before it sends anything.

A staff user chooses `base_url` and `api_key_env`, so both are fenced: the key may only come
from a variable named NEURONJUDGE_VQA_*, and it is only sent to a host on the deployment's
allow-list (settings.NEURONJUDGE_VQA_ALLOWED_HOSTS). Otherwise any secret in the workers'
environment could be sent to any server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from evaluation.raters.base import LOOPBACK_SITE, RaterSite
from evaluation.raters.vqa_params import settings_as_params, settings_from_params

DEFAULT_PROMPT = "Does this image relate to the concept of '{label}', answer in one word Yes or No"
RATING_PROMPT = (
    "These images are the images that most activate one neuron of a vision model. On a scale "
    "from 1 (not at all) to 5 (perfectly), how well does the label '{label}' describe what "
    "they have in common? Answer with a single number from 1 to 5."
)
KEY_ENV_PREFIX = "NEURONJUDGE_VQA_"


class EndpointSettings(Protocol):
    """What `ChatEndpoint` and the fence read, common to every endpoint rater's settings."""

    base_url: str
    model: str
    api_key_env: str
    temperature: float | None
    max_tokens: int
    concurrency: int
    timeout_s: float
    retries: int
    backoff_s: float
    max_backoff_s: float


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


@dataclass(frozen=True)
class OpenAIRatingSettings:
    """The label rater's parameters: one request per label with all its images, asking for
    a 1-5 rating; `base_url` and `model` are required."""

    base_url: str
    model: str
    api_key_env: str = "NEURONJUDGE_VQA_API_KEY"
    prompt: str = RATING_PROMPT
    temperature: float | None = None  # None: the server's default
    max_tokens: int = 10
    concurrency: int = 4
    timeout_s: float = 60.0
    retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0


class EndpointNotAllowed(ValueError):
    """The parameters name a host or a key variable this deployment does not allow."""


def check_endpoint(settings: EndpointSettings, site: RaterSite) -> None:
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
    _refuse_stored_key(params)
    settings = settings_from_params(OpenAIVQASettings, params, "OpenAI VQA")
    if settings.samples < 1:
        raise ValueError("samples must be at least 1")
    if not 0.0 <= settings.threshold < 1.0:
        raise ValueError("threshold must lie in [0, 1)")
    _check_endpoint_settings(settings, site)
    return settings


def check_openai_rating_params(
    params: dict[str, Any], site: RaterSite = LOOPBACK_SITE
) -> OpenAIRatingSettings:
    """Validate label-rater parameters; raise ValueError naming what is wrong."""
    _refuse_stored_key(params)
    settings = settings_from_params(OpenAIRatingSettings, params, "OpenAI rating")
    _check_endpoint_settings(settings, site)
    return settings


def _refuse_stored_key(params: Any) -> None:
    if isinstance(params, dict) and "api_key" in params:
        raise ValueError(
            "do not store an API key in the rater parameters: put it in an environment "
            f"variable ({KEY_ENV_PREFIX}...) on the workers and name that variable in "
            "'api_key_env'"
        )


def _check_endpoint_settings(settings: Any, site: RaterSite) -> None:
    """The checks every endpoint rater shares: URL, prompt template, limits, the fence."""
    if not settings.base_url.startswith(("http://", "https://")):
        raise ValueError("base_url must start with http:// or https://")
    if "{label}" not in settings.prompt:
        raise ValueError("the prompt must contain '{label}'")
    try:
        settings.prompt.format(label="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"the prompt is not a valid template: {exc}") from None
    for name in ("concurrency", "max_tokens"):
        if int(getattr(settings, name)) < 1:
            raise ValueError(f"{name} must be at least 1")
    if settings.retries < 0 or settings.timeout_s <= 0 or settings.backoff_s < 0:
        raise ValueError("retries and backoff_s must be 0 or more, timeout_s above 0")
    check_endpoint(settings, site)


def full_openai_vqa_params(
    params: dict[str, Any], site: RaterSite = LOOPBACK_SITE
) -> dict[str, Any]:
    """Validated parameters with every default filled in, as stored on the Rater."""
    return settings_as_params(check_openai_vqa_params(params, site))


def full_openai_rating_params(
    params: dict[str, Any], site: RaterSite = LOOPBACK_SITE
) -> dict[str, Any]:
    """Validated label-rater parameters with every default filled in, as stored."""
    return settings_as_params(check_openai_rating_params(params, site))
