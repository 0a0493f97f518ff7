"""Serializers for studies, concept sets, neurons and their images."""

from django.db import transaction
from django.urls import reverse
from rest_framework import serializers

from annotate.importers.label_formats import FORMATS
from annotate.models import ConceptSet, Invite, LabelSet, Neuron, NeuronImage, Study, StudyRole
from evaluation.importers.formats import FORMATS as JUDGMENT_FORMATS


class ConceptSetSerializer(serializers.ModelSerializer):
    size = serializers.SerializerMethodField(help_text="Number of concepts")

    class Meta:
        model = ConceptSet
        fields = ["id", "name", "size", "sha256", "created"]
        read_only_fields = fields

    def get_size(self, obj: ConceptSet) -> int:
        size = getattr(obj, "size", None)  # counted in SQL by the view's queryset
        return len(obj.concepts) if size is None else size


class ConceptSetDetailSerializer(ConceptSetSerializer):
    class Meta(ConceptSetSerializer.Meta):
        fields = [*ConceptSetSerializer.Meta.fields, "concepts"]
        read_only_fields = fields


class LabelSetSerializer(serializers.ModelSerializer):
    neurons = serializers.IntegerField(read_only=True, source="neuron_count")

    class Meta:
        model = LabelSet
        fields = ["id", "name", "method", "settings", "notes", "neurons", "created"]
        read_only_fields = fields


class StudySerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    label_sets = LabelSetSerializer(many=True, read_only=True)
    concept_set = serializers.PrimaryKeyRelatedField(
        queryset=ConceptSet.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Study
        fields = [
            "id",
            "name",
            "target_network",
            "layers",
            "probe_dataset",
            "concept_set",
            "method",
            "question_type",
            "k",
            "overlap",
            "notes",
            "owner",
            "is_demo",
            "label_sets",
            "created",
        ]
        read_only_fields = ["id", "layers", "owner", "is_demo", "label_sets", "created"]
        extra_kwargs = {
            "k": {"min_value": 1, "max_value": 100},
            "overlap": {"min_value": 1, "max_value": 1000},
        }

    def validate_question_type(self, value: str) -> str:
        if self.instance is not None and value != self.instance.question_type:
            raise serializers.ValidationError(
                "The question type is chosen when a study is created."
            )
        return value

    @transaction.atomic
    def create(self, validated_data):
        return super().create(validated_data)


class StudyMemberSerializer(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="Username of a staff member")
    role = serializers.ChoiceField(choices=StudyRole.Role.choices)


class StudyDeletedSerializer(serializers.Serializer):
    archived = serializers.BooleanField()
    human_judgments = serializers.IntegerField()


class NeuronImageSerializer(serializers.ModelSerializer):
    sha256 = serializers.CharField(source="image.sha256", read_only=True)
    url = serializers.SerializerMethodField()
    width = serializers.IntegerField(source="image.width", read_only=True)
    height = serializers.IntegerField(source="image.height", read_only=True)

    class Meta:
        model = NeuronImage
        fields = ["id", "rank", "activation", "is_distractor", "sha256", "width", "height", "url"]
        read_only_fields = fields

    def get_url(self, obj: NeuronImage) -> str:
        return obj.image.file.url


class NeuronSerializer(serializers.ModelSerializer):
    images = NeuronImageSerializer(many=True, read_only=True)

    class Meta:
        model = Neuron
        fields = [
            "id",
            "study",
            "label_set",
            "layer",
            "unit",
            "label",
            "method_score",
            "score_name",
            "category",
            "alternatives",
            "role",
            "source",
            "images",
        ]
        read_only_fields = fields


class LabelImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A label file: CLIP-Dissect, MILAN, NetDissect tally.csv, dissect "
        "report.json, Describe-and-Dissect final_results.csv, or export_labels' CSV"
    )
    label_set = serializers.CharField(
        max_length=200, required=False, help_text="Label set to import into (default: first)"
    )
    format = serializers.ChoiceField(
        choices=sorted(FORMATS), required=False, help_text="Default: detected from the header"
    )
    layer = serializers.CharField(
        max_length=200, required=False, help_text="For formats that do not name the layer"
    )


class JudgmentImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV or JSON Lines: rater,layer,unit,rank,verdict[,score][,label_set], "
        "rater,layer,unit,label_set,rating[,uninterpretable,none_fits], "
        "rater,layer,unit,chosen[,none_fits,uninterpretable], or a Describe-and-Dissect "
        "human-evaluation CSV (format dnd-human-evals)"
    )
    format = serializers.ChoiceField(
        choices=JUDGMENT_FORMATS, required=False, help_text="Default: told by the header"
    )
    rater_kind = serializers.CharField(required=False, default="human")
    notes = serializers.CharField(required=False, default="", allow_blank=True)


class ImageImportSerializer(serializers.Serializer):
    manifest = serializers.FileField(help_text="CSV or JSONL: layer,unit,rank,path[,activation]")
    images = serializers.FileField(help_text="A zip of the images the manifest names")


class ConceptSetImportSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    file = serializers.FileField(help_text="UTF-8 text, one concept a line")


class ImportReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    file = serializers.CharField()
    format = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    images_stored = serializers.IntegerField()
    notes = serializers.ListField(child=serializers.CharField())
    summary = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    file = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class ImportFailedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    problems = ProblemSerializer(many=True)


class NextUnitsRequestSerializer(serializers.Serializer):
    prefetch = serializers.IntegerField(min_value=0, max_value=10, default=1)


class UnitImageSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque, per lease: says nothing of the image")
    url = serializers.CharField()


class UnitLabelSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Opaque, per lease: says nothing of the label set")
    label = serializers.CharField()


class UnitSerializer(serializers.Serializer):
    neuron = serializers.IntegerField()
    label = serializers.CharField(required=False, help_text="yes/no and label_rating studies")
    labels = UnitLabelSerializer(
        many=True, required=False, help_text="best_of studies: the labels, in the order shown"
    )
    images = UnitImageSerializer(many=True)


class NextUnitsSerializer(serializers.Serializer):
    # A plain string: a second enum of the same choices (beside the study's `question_type`)
    # would make drf-spectacular warn, and `check --deploy` fails on warnings.
    question = serializers.CharField(help_text="The study's question type: what units ask")
    units = UnitSerializer(many=True)
    progress = serializers.DictField()


HUMAN_VERDICTS = ["yes", "no", "skip", "unclear"]


class SubmitSerializer(serializers.Serializer):
    client_id = serializers.UUIDField(help_text="Made by the client; resending it is harmless")
    neuron = serializers.IntegerField(min_value=1)
    answers = serializers.DictField(
        child=serializers.ChoiceField(choices=HUMAN_VERDICTS),
        required=False,
        help_text="pair_yes_no: image id (as `next` gave it) -> verdict, for every image",
    )
    rating = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, help_text="label_rating"
    )
    uninterpretable = serializers.BooleanField(
        required=False, help_text="label_rating: instead of a rating"
    )
    chosen = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="best_of: the chosen label's id, as `next` gave it",
    )
    none_fits = serializers.BooleanField(
        required=False, help_text="best_of: no label fits, instead of a choice"
    )
    order_shown = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=200, default=list
    )
    ms_spent = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000)


class SubmittedSerializer(serializers.Serializer):
    client_id = serializers.UUIDField()
    neuron = serializers.IntegerField()
    stored = serializers.DateTimeField()


class UndoSerializer(serializers.Serializer):
    client_id = serializers.UUIDField()


class InviteSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="The link to hand out; crowd platforms append their participant parameters"
    )
    joined = serializers.IntegerField(read_only=True, help_text="Annotators who joined by it")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Invite
        fields = [
            "id", "kind", "url", "is_active", "max_participants", "joined", "created_by",
            "created",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, obj: Invite) -> str:
        name = "annotation-crowd" if obj.kind == Invite.Kind.CROWD else "annotation-join"
        path = reverse(name, args=[obj.token])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class InviteCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Invite.Kind.choices, default=Invite.Kind.ACCOUNT)
    max_participants = serializers.IntegerField(
        min_value=0, max_value=100_000, required=False,
        help_text="New annotators the link may add (default 100; 0 closes it to newcomers)",
    )  # fmt: skip


class AnnotatorSerializer(serializers.Serializer):
    username = serializers.CharField()
    platform = serializers.CharField(help_text="Account, Prolific or Mechanical Turk")
    invite = serializers.IntegerField(allow_null=True, help_text="Invite they joined by")
    joined = serializers.DateTimeField()
    units_done = serializers.IntegerField(source="submitted")
    units_in_progress = serializers.IntegerField(source="in_progress")
    last_submitted = serializers.DateTimeField(source="last", allow_null=True)
    median_seconds = serializers.FloatField(allow_null=True)
    gold_answered = serializers.IntegerField(help_text="Answers on pairs with a known answer")
    gold_accuracy = serializers.FloatField(allow_null=True)
    excluded = serializers.BooleanField(help_text="Under the study's gold accuracy bar")
    completion_code = serializers.CharField(help_text="MTurk workers' own code")
