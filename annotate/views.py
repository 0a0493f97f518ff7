from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render

from annotate.forms import StudyImportForm
from annotate.importers import ImportFailed
from annotate.importers.upload import do_import_study_upload
from annotate.models import Neuron, NeuronImage
from annotate.ownership import role_among, study_members
from annotate.paging import LayerOrderedNeurons
from annotate.permissions import access_study, visible_studies
from annotate.study_cards import neuron_cards
from evaluation.forms import StartRunForm

NEURONS_PER_PAGE = 48


@login_required
def home(request):
    """Members and annotators see the studies they belong to; superusers every study."""
    studies = (
        visible_studies(request.user)
        .annotate(neuron_count=Count("neurons", filter=Q(neurons__role=Neuron.Role.REAL)))
        .order_by("-is_demo", "name")
    )
    return render(request, "annotate/home.html", {"studies": studies})


@login_required
def study_detail(request, study_id: int):
    """Neurons with label, layer:unit, method score and top-k images; paged, by layer.

    Members only: annotators reach a study through its annotation page, which shows only
    the units given to them.
    """
    study = access_study(request.user, study_id, need="view")
    layer = request.GET.get("layer", "")
    neurons = study.neurons.filter(role=Neuron.Role.REAL).prefetch_related(
        Prefetch(
            "images",
            queryset=NeuronImage.objects.filter(is_distractor=False)
            .select_related("image")
            .order_by("rank"),
        )
    )
    if layer:
        neurons = neurons.filter(layer=layer)
    ordered = LayerOrderedNeurons(
        neurons, study.layers, cache_name=f"study-page:{study.pk}:{layer}"
    )
    page = Paginator(ordered, NEURONS_PER_PAGE).get_page(request.GET.get("page"))
    members = study_members(study)
    my_role = role_among(members, request.user)
    return render(
        request,
        "annotate/study_detail.html",
        {
            "study": study,
            "neurons": neuron_cards(page.object_list),
            "page": page,
            "layer": layer,
            "start_run_form": StartRunForm(),
            "members": members,
            "my_role": my_role,
            "can_manage": my_role in ("owner", "manager", "superuser"),
        },
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
