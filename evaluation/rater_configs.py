"""Rater configurations: validate a kind's parameters (defaults filled in) and get the one
Rater row for each exact configuration, so two configurations of a method are two raters."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from evaluation.models import Rater


def check_rater_params(kind: str, params: dict) -> dict:
    """The full, validated configuration for an automatic rater kind (defaults filled in)."""
    if kind in (Rater.Kind.OPENCLIP_ES, Rater.Kind.OPENCLIP_CP):
        from evaluation.raters.clip_spec import check_clip_params

        return check_clip_params(kind, params)
    if kind not in (Rater.Kind.VQA_BLIP2, Rater.Kind.VQA_OPENAI):
        raise ValueError(f"{kind!r} is not an automatic rater kind")
    if not isinstance(params, dict):
        raise ValueError("parameters must be a JSON object")
    if kind == Rater.Kind.VQA_BLIP2:
        from evaluation.raters.vqa_blip2_settings import full_blip2_params

        return full_blip2_params(params)
    from evaluation.raters.openai_vqa import full_openai_vqa_params

    return full_openai_vqa_params(params)


def _rater_name(kind: str, params: dict, digest: str) -> str:
    shown = [params.get("model") or "", params.get("pretrained") or ""]
    for name in ("threshold", "proportion", "precision"):
        if name in params:
            shown.append(f"{name} {params[name]}")
    label = Rater.Kind(kind).label
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
