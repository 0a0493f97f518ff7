"""The study page's "start a run" form: a rater kind, its parameters, and run options.

Which fields feed which kind's parameters, and which models to offer, come from the rater
registry; the Model field defaults to a model this machine has (the demo CLIP on the demo).
"""

from __future__ import annotations

import json
from functools import cached_property

from django import forms

from evaluation.rater_configs import check_rater_params
from evaluation.raters.clip_spec import DEFAULT_MODEL, DEFAULT_PRETRAINED, PRECISIONS
from evaluation.raters.registry import PAIR_YES_NO, RATER_KINDS, kind_choices, rater_kind

FIELDS_OVER_JSON = ("threshold", "proportion")  # the other fields only fill what JSON leaves
SCOPE_OPTIONS = {"dense": {"dense": True}, "dense_only": {"dense": True, "pairs": False}}


class StartRunForm(forms.Form):
    """`question` is the study's question type: only the kinds answering it are offered
    (none yet for best_of)."""

    kind = forms.ChoiceField(choices=kind_choices)
    model = forms.CharField(required=False, max_length=300)
    pretrained = forms.CharField(
        required=False,
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
    scope = forms.ChoiceField(
        required=False,
        choices=[("pairs", "pairs"), ("dense", "pairs and the whole probe set"),
                 ("dense_only", "the whole probe set only")],
    )  # fmt: skip

    def __init__(self, *args, question: str = PAIR_YES_NO, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.question = question
        self.fields["kind"].choices = kind_choices(question)
        fitting = ", ".join(kind for kind, _ in kind_choices(question)) or "none yet"
        self.fields["kind"].error_messages["invalid_choice"] = (
            f"%(value)s does not answer this study's question ({question}); "
            f"the kinds that do: {fitting}"
        )

    @cached_property
    def model_choices(self) -> dict[str, list[tuple[str, str]]]:
        """Per kind, the (model, label) pairs found on this machine, the kind's default first;
        kinds sharing a model list (ES and CP) look for models once."""
        listed: dict[str | None, list[tuple[str, str]]] = {}
        for entry in RATER_KINDS.values():
            if entry.models not in listed:
                listed[entry.models] = entry.local_models()
        return {kind: listed[entry.models] for kind, entry in RATER_KINDS.items()}

    def kind_options(self) -> list[tuple[str, str, str]]:
        """(kind, label, default model) for the page's kind menu."""
        return [
            (kind, label, self.default_model(kind)) for kind, label in kind_choices(self.question)
        ]

    def default_model(self, kind: str) -> str:
        found = self.model_choices.get(kind) or []
        return found[0][0] if found else ""

    def get_initial_for_field(self, field, field_name):
        if field_name in ("model", "pretrained"):
            kinds = self.fields["kind"].choices
            model = (self.default_model(kinds[0][0]) if kinds else "") or DEFAULT_MODEL
            if field_name == "model":
                return model
            return DEFAULT_PRETRAINED if model == DEFAULT_MODEL else ""
        return super().get_initial_for_field(field, field_name)

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
        for name in rater_kind(data["kind"]).form_fields:
            if data.get(name) in (None, ""):
                continue
            if name in FIELDS_OVER_JSON:
                params[name] = data[name]
            else:
                params.setdefault(name, data[name])
        try:
            data["params"] = check_rater_params(data["kind"], params)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        data["options"] = {
            name: data[name]
            for name in ("device", "batch_size")
            if data.get(name) not in (None, "")
        }
        data["options"] |= SCOPE_OPTIONS.get(data.get("scope") or "pairs", {})
        return data
