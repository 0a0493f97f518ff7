from pathlib import Path

from django import forms

from annotate.importers.upload import StudyUpload
from annotate.models import ConceptSet, Study


class StudyImportForm(forms.Form):
    """Create a study from a dissection's files. Files are checked by the importers."""

    name = forms.CharField(max_length=200)
    target_network = forms.CharField(max_length=200, initial="resnet50")
    probe_dataset = forms.CharField(max_length=200, initial="broden")
    method = forms.ChoiceField(choices=Study.Method.choices, initial=Study.Method.CLIP_DISSECT)
    k = forms.IntegerField(min_value=1, max_value=100, initial=5, label="Images per neuron (k)")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    concept_set = forms.ModelChoiceField(
        ConceptSet.objects.order_by("name"), required=False, empty_label="(none or upload one)"
    )
    concept_file = forms.FileField(
        required=False, label="or a new concept set", help_text="Text, one concept a line"
    )
    concept_set_name = forms.CharField(
        max_length=200, required=False, help_text="Name for the new concept set (default: file)"
    )
    labels = forms.FileField(
        help_text="CSV: layer,unit,description,similarity (CLIP-Dissect) or "
        "layer,unit,description (MILAN)"
    )
    manifest = forms.FileField(
        required=False, help_text="CSV or JSONL: layer,unit,rank,path[,activation]"
    )
    images = forms.FileField(required=False, label="Images (.zip)")

    STUDY_FIELDS = ("name", "target_network", "probe_dataset", "method", "k", "notes")

    def study_fields(self):
        return [self[name] for name in self.STUDY_FIELDS]

    def file_fields(self):
        return [field for field in self if field.name not in self.STUDY_FIELDS]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Study.objects.filter(name=name).exists():
            raise forms.ValidationError("A study with this name already exists.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("concept_set") and data.get("concept_file"):
            self.add_error("concept_file", "Choose an existing concept set or upload one.")
        if bool(data.get("manifest")) != bool(data.get("images")):
            self.add_error("images", "Upload the manifest and the zip of images together.")
        return data

    def upload(self) -> StudyUpload:
        data = self.cleaned_data
        concept_file = data.get("concept_file")
        return StudyUpload(
            name=data["name"],
            target_network=data["target_network"],
            probe_dataset=data["probe_dataset"],
            method=data["method"],
            k=data["k"],
            notes=data["notes"],
            labels=data["labels"],
            concept_set=data.get("concept_set"),
            concept_file=concept_file,
            concept_set_name=data.get("concept_set_name")
            or (Path(concept_file.name).stem if concept_file else ""),
            manifest=data.get("manifest"),
            images=data.get("images"),
        )


class SampleProbeImagesForm(forms.Form):
    """Images drawn from the probe set beyond each neuron's top-k (annotate.sampling)."""

    random = forms.IntegerField(min_value=0, max_value=10_000, initial=20, label="Uniform (M)")
    strata = forms.IntegerField(min_value=0, max_value=30, initial=8, label="Strata (Q)")
    per_stratum = forms.IntegerField(min_value=1, max_value=1000, initial=2)
    seed = forms.IntegerField(min_value=0, initial=0)

    def design(self):
        from evaluation.probe_metrics.sampling import SampleDesign

        return SampleDesign(**{name: self.cleaned_data[name] for name in self.fields})
