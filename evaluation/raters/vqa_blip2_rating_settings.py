"""BLIP-2 label-rating parameters, without torch: the web process validates them at creation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaluation.raters.base import LOOPBACK_SITE, RaterSite
from evaluation.raters.vqa_blip2_settings import DEFAULT_MODEL
from evaluation.raters.vqa_blip2_settings import DEFAULT_PROMPT as YES_NO_PROMPT
from evaluation.raters.vqa_params import settings_as_params, settings_from_params

RATING_PROMPT = (
    "Question: On a scale from 1 to 5, how well does the concept '{label}' describe this "
    "image? Answer:"
)
COMBINES = ("mean", "max")


@dataclass(frozen=True)
class Blip2RatingSettings:
    """The rater's parameters as stored in `Rater.params` (all optional). `prompt` asks for
    the rating, `yes_no_prompt` for the per-image yes/no behind the label's any-of-k verdict;
    `combine` turns the k per-image ratings into the label's rating."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    prompt: str = RATING_PROMPT
    yes_no_prompt: str = YES_NO_PROMPT
    combine: str = "mean"
    threshold: float = 0.5  # per image, on P(yes) / (P(yes) + P(no))
    batch_size: int = 64  # prompts per forward pass
    image_batch_size: int = 32
    image_cache: int = 1024
    decode_workers: int = 4


def check_blip2_rating_params(params: dict[str, Any]) -> Blip2RatingSettings:
    """Validate rater parameters; raise ValueError naming what is wrong."""
    settings = settings_from_params(Blip2RatingSettings, params, "BLIP-2 rating")
    for name in ("prompt", "yes_no_prompt"):
        _check_template(name, getattr(settings, name))
    if settings.combine not in COMBINES:
        raise ValueError(f"combine must be one of {', '.join(COMBINES)}")
    if not 0.0 < settings.threshold < 1.0:
        raise ValueError("threshold must lie strictly between 0 and 1")
    for name in ("batch_size", "image_batch_size", "decode_workers"):
        if int(getattr(settings, name)) < 1:
            raise ValueError(f"{name} must be at least 1")
    if settings.image_cache < 0:
        raise ValueError("image_cache must be 0 or more")
    return settings


def _check_template(name: str, template: str) -> None:
    if "{label}" not in template:
        raise ValueError(f"{name} must contain '{{label}}'")
    try:
        template.format(label="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{name} is not a valid template: {exc}") from None


def full_blip2_rating_params(
    params: dict[str, Any], site: RaterSite = LOOPBACK_SITE
) -> dict[str, Any]:
    """Validated parameters with every default filled in, as stored on the Rater."""
    return settings_as_params(check_blip2_rating_params(params))
