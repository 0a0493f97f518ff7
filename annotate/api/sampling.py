"""The API's form for drawing images beyond the top-k (`annotate.sampling`)."""

from rest_framework import serializers

from evaluation.probe_metrics.sampling import SampleDesign


class SampleProbeImagesSerializer(serializers.Serializer):
    random = serializers.IntegerField(min_value=0, max_value=10_000, default=0)
    strata = serializers.IntegerField(min_value=0, max_value=30, default=0)
    per_stratum = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    seed = serializers.IntegerField(min_value=0, default=0)

    def validate(self, data):
        try:
            SampleDesign(**data).check()
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return data

    def design(self) -> SampleDesign:
        return SampleDesign(**self.validated_data)


class SampleReportSerializer(serializers.Serializer):
    units = serializers.IntegerField()
    neurons = serializers.IntegerField(help_text="Neurons that got images now")
    images = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Neurons with images of this design already")
    started = serializers.IntegerField(help_text="Neurons left alone: annotation had started")
    notes = serializers.ListField(child=serializers.CharField())
    summary = serializers.CharField()
