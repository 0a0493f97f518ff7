"""Serializers for raters, evaluation runs and judgments."""

from django.db.models import Q
from rest_framework import serializers

from evaluation.models import EvaluationRun, Judgment, Rater, params_digest
from evaluation.rater_configs import check_rater_params
from evaluation.raters.registry import is_automatic, kind_choices


class RaterSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=kind_choices(None))  # every automatic kind
    params = serializers.DictField(required=False, default=dict)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Rater
        fields = ["id", "name", "kind", "params", "params_sha256", "user", "created"]
        read_only_fields = ["id", "params_sha256", "user", "created"]

    def to_representation(self, instance):
        # Human and consensus raters are listed too; the choice field only limits creation.
        data = super().to_representation(instance)
        data["kind"] = instance.kind
        return data

    def validate(self, attrs):
        try:  # defaults filled in, so the same configuration always hashes the same
            attrs["params"] = check_rater_params(attrs["kind"], attrs.get("params", {}))
        except ValueError as exc:
            raise serializers.ValidationError({"params": [str(exc)]}) from None
        digest = params_digest(attrs["kind"], attrs["params"])
        same = Rater.objects.filter(
            Q(user__isnull=True), kind=attrs["kind"], params_sha256=digest
        ).first()
        if same is not None:
            raise serializers.ValidationError(
                f"Rater {same.name!r} (id {same.pk}) already has this kind and these parameters."
            )
        return attrs


class MemberStudyField(serializers.PrimaryKeyRelatedField):
    """A study the requesting user is a member of: any other id "does not exist"."""

    def get_queryset(self):
        from annotate.permissions import visible_studies

        request = self.context.get("request")
        return visible_studies(request.user if request else None, "view")


class RunSerializer(serializers.ModelSerializer):
    study = MemberStudyField()
    rater = serializers.PrimaryKeyRelatedField(queryset=Rater.objects.exclude(kind="human"))
    options = serializers.DictField(required=False, default=dict)
    progress = serializers.FloatField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "study",
            "rater",
            "status",
            "progress",
            "done_pairs",
            "total_pairs",
            "options",
            "created",
            "started_at",
            "finished_at",
            "wall_seconds",
            "stage_seconds",
            "notes",
            "error",
            "created_by",
        ]
        read_only_fields = [f for f in fields if f not in ("study", "rater", "options")]
        validators = []  # one active run per (rater, study): do_create_run says so clearly

    def validate_rater(self, rater: Rater) -> Rater:
        if not is_automatic(rater.kind):
            raise serializers.ValidationError(f"{rater.name} is not an automatic rater.")
        return rater

    def validate_options(self, options: dict) -> dict:
        for key in ("dense", "pairs"):
            if key in options and not isinstance(options[key], bool):
                raise serializers.ValidationError(f"{key} must be true or false.")
        for key in ("batch_size", "chunk_pairs", "store_every", "dense_neurons"):
            value = options.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**6
            ):
                raise serializers.ValidationError(f"{key} must be a whole number 1..1000000.")
        device = options.get("device")
        if device is not None and (not isinstance(device, str) or len(device) > 20):
            raise serializers.ValidationError("device must be a short string, e.g. cpu or cuda.")
        return options


class JudgmentSerializer(serializers.ModelSerializer):
    neuron = serializers.IntegerField(source="neuron_image.neuron_id", read_only=True)
    study = serializers.IntegerField(source="study_id", read_only=True)
    rank = serializers.IntegerField(source="neuron_image.rank", read_only=True)

    class Meta:
        model = Judgment
        fields = [
            "id",
            "rater",
            "study",
            "neuron",
            "neuron_image",
            "rank",
            "verdict",
            "score",
            "extra",
            "submission",
            "created",
        ]
        read_only_fields = fields
