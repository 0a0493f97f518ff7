"""Filters for the study-side lists."""

import django_filters

from annotate.models import Neuron, Study


class StudyFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Study
        fields = ["name", "method", "is_demo", "target_network", "probe_dataset"]


class NeuronFilter(django_filters.FilterSet):
    label = django_filters.CharFilter(lookup_expr="icontains")
    label_set_name = django_filters.CharFilter(field_name="label_set__name")

    class Meta:
        model = Neuron
        fields = ["study", "label_set", "label_set_name", "layer", "unit", "role", "label"]
