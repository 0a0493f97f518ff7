from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotate.forms import SampleProbeImagesForm, StudyImportForm
from annotate.importers import ImportFailed
from annotate.importers.upload import do_import_study_upload
from annotate.models import TOP_K, Neuron, NeuronImage
from annotate.paging import LayerOrderedNeurons
from annotate.permissions import access_study, visible_studies
from annotate.sampling import SamplingError, do_sample_probe_images
from annotate.study_cards import neuron_cards

NEURONS_PER_PAGE = 48


@login_required
def home(request):
    """Staff see every study; annotators see the studies they were added to."""
    studies = (
        visible_studies(request.user)
        .annotate(neuron_count=Count("neurons", filter=Q(neurons__role=Neuron.Role.REAL)))
        .order_by("-is_demo", "name")
    )
    return render(request, "annotate/home.html", {"studies": studies})


@login_required
def study_detail(request, study_id: int):
    """Neurons with label, layer:unit, method score and top-k images; paged, by layer.

    Staff only: annotators reach a study through its annotation page, which shows only the
    units given to them.
    """
    study = access_study(request.user, study_id, manage=True)
    layer = request.GET.get("layer", "")
    neurons = study.neurons.filter(role=Neuron.Role.REAL).prefetch_related(
        Prefetch(
            "images",
            queryset=NeuronImage.objects.filter(TOP_K).select_related("image").order_by("rank"),
        )
    )
    if layer:
        neurons = neurons.filter(layer=layer)
    ordered = LayerOrderedNeurons(
        neurons, study.layers, cache_name=f"study-page:{study.pk}:{layer}"
    )
    page = Paginator(ordered, NEURONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "annotate/study_detail.html",
        {
            "study": study,
            "neurons": neuron_cards(page.object_list),
            "page": page,
            "layer": layer,
            "sample_form": SampleProbeImagesForm() if study.probe_set_id else None,
        },  # fmt: skip
    )


@user_passes_test(lambda user: user.is_staff)
def study_import(request):
    form = StudyImportForm(request.POST or None, request.FILES or None)
    problems = None
    if request.method == "POST" and form.is_valid():
        try:
            study, reports = do_import_study_upload(form.upload(), owner=request.user)
        except ImportFailed as exc:
            problems = exc
        else:
            for report in reports:
                messages.success(request, report.summary())
            return redirect("study-detail", study.pk)
    return render(request, "annotate/import.html", {"form": form, "problems": problems})


@require_POST
@login_required
def study_sample_probe_images(request, study_id: int):
    """Staff: draw images from the probe set beyond each neuron's top-k; back to the study."""
    study = access_study(request.user, study_id, manage=True)
    form = SampleProbeImagesForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        messages.error(request, f"Sampling refused, nothing was changed: {problems}")
    else:
        try:
            report = do_sample_probe_images(study, form.design())
        except SamplingError as exc:
            messages.error(request, f"Sampling refused, nothing was changed: {exc}")
        else:
            messages.success(request, f"Sampled ({form.design().label}): {report.summary()}")
    return redirect("study-detail", study.pk)
