"""The study page's "start a run" form: a rater kind, its parameters, and run options."""

from __future__ import annotations

import json

from django import forms

from evaluation.models import Rater
from evaluation.rater_configs import check_rater_params
from evaluation.raters.clip_spec import DEFAULT_MODEL, DEFAULT_PRETRAINED, PRECISIONS

AUTOMATIC_KINDS = [
    (Rater.Kind.OPENCLIP_ES.value, Rater.Kind.OPENCLIP_ES.label),
    (Rater.Kind.OPENCLIP_CP.value, Rater.Kind.OPENCLIP_CP.label),
    (Rater.Kind.VQA_BLIP2.value, Rater.Kind.VQA_BLIP2.label),
    (Rater.Kind.VQA_OPENAI.value, Rater.Kind.VQA_OPENAI.label),
]
CLIP_KINDS = (Rater.Kind.OPENCLIP_ES, Rater.Kind.OPENCLIP_CP)


class StartRunForm(forms.Form):
    kind = forms.ChoiceField(choices=AUTOMATIC_KINDS)
    model = forms.CharField(required=False, initial=DEFAULT_MODEL, max_length=300)
    pretrained = forms.CharField(
        required=False,
        initial=DEFAULT_PRETRAINED,
        max_length=500,
        help_text="open_clip tag or a checkpoint path on the workers",
    )
    threshold = forms.FloatField(required=False, min_value=-1, max_value=1)
    proportion = forms.FloatField(required=False, min_value=1e-9, max_value=1)
    precision = forms.ChoiceField(choices=[(p, p) for p in PRECISIONS], initial="fp32")
    params_json = forms.CharField(
        required=False, widget=forms.Textarea, help_text="other parameters as a JSON object"
    )
    device = forms.CharField(required=False, max_length=20, help_text="auto, cpu, cuda, cuda:1")
    batch_size = forms.IntegerField(required=False, min_value=1, max_value=65536)

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            extra = json.loads(data.get("params_json") or "{}")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"parameters are not valid JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise forms.ValidationError("parameters must be a JSON object")
        params = dict(extra)
        if data["kind"] in CLIP_KINDS:
            for name in ("model", "pretrained", "precision"):
                if data.get(name):
                    params.setdefault(name, data[name])
            field = "threshold" if data["kind"] == Rater.Kind.OPENCLIP_ES else "proportion"
            if data.get(field) is not None:
                params[field] = data[field]
        try:
            data["params"] = check_rater_params(data["kind"], params)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        data["options"] = {
            name: data[name]
            for name in ("device", "batch_size")
            if data.get(name) not in (None, "")
        }
        return data
