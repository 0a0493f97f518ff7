"""BLIP-2 rater parameters, without torch: the web process validates them at rater creation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaluation.raters.base import LOOPBACK_SITE, RaterSite
from evaluation.raters.vqa_params import settings_as_params, settings_from_params

DEFAULT_MODEL = "Salesforce/blip2-opt-2.7b"
DEFAULT_PROMPT = "Question: Does this image relate to the concept of '{label}'? Answer:"
MODES = ("one_pass", "generate")


@dataclass(frozen=True)
class Blip2Settings:
    """The rater's parameters as stored in `Rater.params` (all optional)."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    prompt: str = DEFAULT_PROMPT
    mode: str = "one_pass"
    threshold: float = 0.5  # on P(yes) / (P(yes) + P(no)): 0.5 means P(yes) > P(no)
    batch_size: int = 64
    image_batch_size: int = 32
    image_cache: int = 1024  # image features kept between batches (unique images)
    decode_workers: int = 4  # threads decoding images while the model waits
    max_new_tokens: int = 5  # generate mode only


def check_blip2_params(params: dict[str, Any]) -> Blip2Settings:
    """Validate rater parameters; raise ValueError naming what is wrong."""
    settings = settings_from_params(Blip2Settings, params, "BLIP-2")
    if "{label}" not in settings.prompt:
        raise ValueError("the BLIP-2 prompt must contain '{label}'")
    try:
        settings.prompt.format(label="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"the BLIP-2 prompt is not a valid template: {exc}") from None
    if settings.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if not 0.0 < settings.threshold < 1.0:
        raise ValueError("threshold must lie strictly between 0 and 1")
    for name in ("batch_size", "image_batch_size", "max_new_tokens", "decode_workers"):
        if int(getattr(settings, name)) < 1:
            raise ValueError(f"{name} must be at least 1")
    if settings.image_cache < 0:
        raise ValueError("image_cache must be 0 or more")
    return settings


def full_blip2_params(params: dict[str, Any], site: RaterSite = LOOPBACK_SITE) -> dict[str, Any]:
    """Validated parameters with every default filled in, as stored on the Rater."""
    return settings_as_params(check_blip2_params(params))


def blip2_models() -> list[tuple[str, str]]:
    """The start-run form's BLIP-2 model suggestion: the default checkpoint."""
    return [(DEFAULT_MODEL, "BLIP-2 OPT-2.7b (default)")]
