from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render

from annotate.models import Neuron, Study


def home(request):
    studies = Study.objects.annotate(
        neuron_count=Count("neurons", filter=Q(neurons__role=Neuron.Role.REAL))
    ).order_by("-is_demo", "name")
    return render(request, "annotate/home.html", {"studies": studies})


def study_detail(request, study_id: int):
    study = get_object_or_404(Study, pk=study_id)
    neurons = (
        study.neurons.filter(role=Neuron.Role.REAL)
        .order_by("layer", "unit")
        .prefetch_related("images__image")[:200]
    )
    return render(request, "annotate/study_detail.html", {"study": study, "neurons": neurons})
