"""Rater configurations: validate a kind's parameters (defaults filled in) and get the one
Rater row for each exact configuration, so two configurations of a method are two raters."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from evaluation.models import Rater
from evaluation.raters.base import RaterSite
from evaluation.raters.registry import rater_kind


def rater_site() -> RaterSite:
    """What the settings let raters reach, for the plain-Python checks and factories."""
    return RaterSite(allowed_hosts=frozenset(settings.NEURONJUDGE_VQA_ALLOWED_HOSTS))


def check_rater_params(kind: str, params: dict) -> dict:
    """The full, validated configuration for an automatic rater kind (defaults filled in)."""
    return rater_kind(kind).check_params(params, rater_site())


def _rater_name(kind: str, params: dict, digest: str) -> str:
    shown = [params.get("model") or "", params.get("pretrained") or ""]
    for name in ("threshold", "proportion", "precision"):
        if name in params:
            shown.append(f"{name} {params[name]}")
    label = rater_kind(kind).label
    return f"{label} · {' · '.join(s for s in shown if s)} · {digest[:8]}"[:200]


def do_get_rater(kind: str, params: dict) -> Rater:
    """The rater for this exact configuration, created the first time it is asked for."""
    from evaluation.models import params_digest

    full = check_rater_params(kind, params)
    digest = params_digest(kind, full)
    rater = Rater.objects.filter(kind=kind, params_sha256=digest, user__isnull=True).first()
    if rater is not None:
        return rater
    try:
        with transaction.atomic():
            return Rater.objects.create(
                name=_rater_name(kind, full, digest), kind=kind, params=full
            )
    except IntegrityError:  # created by someone else meanwhile
        return Rater.objects.get(kind=kind, params_sha256=digest, user__isnull=True)
