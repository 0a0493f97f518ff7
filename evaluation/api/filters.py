"""Filters for raters, runs and judgments."""

import django_filters

from evaluation.models import EvaluationRun, Judgment, Rater


class RaterFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Rater
        fields = ["kind", "name"]


class RunFilter(django_filters.FilterSet):
    class Meta:
        model = EvaluationRun
        fields = ["study", "rater", "status"]


class JudgmentFilter(django_filters.FilterSet):
    study = django_filters.NumberFilter(field_name="study_id")
    neuron = django_filters.NumberFilter(field_name="neuron_image__neuron_id")
    layer = django_filters.CharFilter(field_name="neuron_image__neuron__layer")
    # A plain number, not a choice: an annotator must not learn which rater ids exist.
    rater = django_filters.NumberFilter(field_name="rater_id")

    class Meta:
        model = Judgment
        fields = ["study", "neuron", "layer", "rater", "verdict", "submission"]
