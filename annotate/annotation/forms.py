from django import forms
from django.contrib.auth.forms import UserCreationForm

from annotate.models import AnnotationSettings


class AnnotationSettingsForm(forms.ModelForm):
    overlap = forms.IntegerField(min_value=1, max_value=50, help_text="Annotators per unit (R)")

    class Meta:
        model = AnnotationSettings
        fields = ["overlap", "shuffle_images", "gold_rate", "quota", "min_gold_accuracy"]
        fields += ["completion_code"]

    def clean_gold_rate(self):
        return check_share(self.cleaned_data["gold_rate"])

    def clean_min_gold_accuracy(self):
        return check_share(self.cleaned_data["min_gold_accuracy"])

    def save(self, study):
        study.overlap = self.cleaned_data["overlap"]
        study.save(update_fields=["overlap"])
        return super().save()


class DistractorForm(forms.Form):
    share = forms.FloatField(min_value=0, max_value=1, initial=0.2)


def check_share(value: float) -> float:
    if not 0 <= value <= 1:
        raise forms.ValidationError("Give a value between 0 and 1.")
    return value


class SignUpForm(UserCreationForm):
    """A new annotator's account, made from an invite link."""

    class Meta(UserCreationForm.Meta):
        fields = ["username"]
