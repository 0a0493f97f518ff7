from pathlib import Path

from django import forms

from annotate.importers import ImportFailed
from annotate.importers.label_formats import FORMATS, detect_format
from annotate.importers.sources import read_text
from annotate.importers.upload import StudyFiles, StudyUpload
from annotate.models import ConceptSet, Study

MANIFEST_HELP = "CSV or JSONL: layer,unit,rank,path[,activation]"


class UploadForm(forms.Form):
    """A form of import files; `kept` names the files kept from a refused try, by field."""

    kept: dict[str, str] = {}

    def upload_fields(self) -> list[str]:
        return [name for name, field in self.fields.items() if isinstance(field, forms.FileField)]

    def rows(self, names) -> list[tuple]:
        """(bound field, name of its kept file or "") for the template."""
        return [(self[name], self.kept.get(name, "")) for name in names]

    def check_manifest_with_images(self, data) -> None:
        if bool(data.get("manifest")) != bool(data.get("images")):
            self.add_error("images", "Upload the manifest and the zip of images together.")


class StudyImportForm(UploadForm):
    """Create a study from a dissection's files. Files are checked by the importers."""

    name = forms.CharField(max_length=200)
    target_network = forms.CharField(max_length=200, initial="resnet50")
    probe_dataset = forms.CharField(max_length=200, initial="broden")
    method = forms.ChoiceField(choices=Study.Method.choices, initial=Study.Method.CLIP_DISSECT)
    question_type = forms.ChoiceField(
        choices=Study.QuestionType.choices,
        initial=Study.QuestionType.PAIR_YES_NO,
        required=False,
        label="Question",
        help_text="What annotators are asked; it cannot be changed later",
    )
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
    manifest = forms.FileField(required=False, help_text=MANIFEST_HELP)
    images = forms.FileField(required=False, label="Images (.zip)")

    existing_study: Study | None = None

    STUDY_FIELDS = (
        "name", "target_network", "probe_dataset", "method", "question_type", "k", "notes",
    )  # fmt: skip

    def study_fields(self):
        return [self[name] for name in self.STUDY_FIELDS]

    def file_rows(self):
        return self.rows(name for name in self.fields if name not in self.STUDY_FIELDS)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        self.existing_study = Study.objects.filter(name=name).first()
        if self.existing_study is not None:
            raise forms.ValidationError("A study with this name already exists.")
        return name

    def clean(self):
        data = super().clean()
        if data.get("concept_set") and data.get("concept_file"):
            self.add_error("concept_file", "Choose an existing concept set or upload one.")
        self.check_manifest_with_images(data)
        return data

    def upload(self) -> StudyUpload:
        data = self.cleaned_data
        concept_file = data.get("concept_file")
        return StudyUpload(
            name=data["name"],
            target_network=data["target_network"],
            probe_dataset=data["probe_dataset"],
            method=data["method"],
            question_type=data.get("question_type") or Study.QuestionType.PAIR_YES_NO,
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


class StudyAddForm(UploadForm):
    """Add a label file (to a label set, new or existing) and/or images to one study."""

    labels = forms.FileField(
        required=False,
        label="Label file",
        help_text="CLIP-Dissect, MILAN, NetDissect, dissect, Describe-and-Dissect or an export",
    )
    label_set = forms.CharField(
        max_length=200,
        required=False,
        help_text="One of the study's label sets, or a new name (default: its first)",
    )
    format = forms.ChoiceField(
        choices=[("", "detect from the file"), *((f.name, f.title) for f in FORMATS.values())],
        required=False,
    )
    layer = forms.CharField(
        max_length=200,
        required=False,
        help_text="Only for files that do not name the layer (NetDissect, dissect, DnD)",
    )
    manifest = forms.FileField(required=False, help_text=MANIFEST_HELP)
    images = forms.FileField(required=False, label="Images (.zip)")

    LABEL_FIELDS = ("labels", "label_set", "format", "layer")
    IMAGE_FIELDS = ("manifest", "images")

    def __init__(self, study: Study, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        self.label_set_names = list(study.label_sets.values_list("name", flat=True))
        self.fields["label_set"].widget.attrs["list"] = "label-sets"
        if self.label_set_names:
            names = ", ".join(self.label_set_names)
            self.fields[
                "label_set"
            ].help_text = (
                f"This study's: {names}; or a new name. Left empty: {self.label_set_names[0]}"
            )

    def label_rows(self):
        return self.rows(self.LABEL_FIELDS)

    def image_rows(self):
        return self.rows(self.IMAGE_FIELDS)

    def clean(self):
        data = super().clean()
        if not (data.get("labels") or data.get("manifest") or data.get("images")):
            raise forms.ValidationError("Choose a label file, or a manifest and its images.")
        self.check_manifest_with_images(data)
        if data.get("labels"):
            self._check_layer(data)
        return data

    def _check_layer(self, data) -> None:
        """Said here, by field, what the importer would say in its command-line words."""
        fmt = data.get("format") or self._detected(data["labels"])
        if fmt not in FORMATS:
            return  # the importer names the unknown format with the file and line
        spec = FORMATS[fmt]
        if spec.needs_layer and not data.get("layer"):
            self.add_error("layer", f"{spec.title} does not name the layer: give it here.")
        elif not spec.needs_layer and data.get("layer"):
            self.add_error("layer", f"{spec.title} names the layer of every row: leave empty.")

    @staticmethod
    def _detected(upload) -> str:
        try:
            return detect_format(read_text(upload, upload.name), upload.name)
        except ImportFailed:
            return ""

    def study_files(self) -> StudyFiles:
        data = self.cleaned_data
        return StudyFiles(
            labels=data.get("labels"),
            label_set=data.get("label_set", "").strip() or None,
            fmt=data.get("format") or None,
            layer=data.get("layer", "").strip() or None,
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
