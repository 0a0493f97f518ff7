from functools import partial
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render
from django.utils.datastructures import MultiValueDict
from django.views.decorators.http import require_POST

from annotate.forms import SampleProbeImagesForm, StudyAddForm, StudyImportForm
from annotate.importers import ImportFailed
from annotate.importers.upload import do_import_into_study, do_import_study_upload
from annotate.kept_uploads import access_kept_uploads, do_keep_uploads
from annotate.models import TOP_K, Neuron, NeuronImage
from annotate.ownership import role_among, study_members
from annotate.paging import LayerOrderedNeurons, label_set_layer_counts
from annotate.permissions import access_study, visible_studies
from annotate.sampling import SamplingError, do_sample_probe_images
from annotate.study_cards import chosen_tab, label_set_tabs, neuron_cards
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
    """One label set's neurons (the first unless `label_set` names another) with label,
    layer:unit, method score and top-k images; paged, by layer. The study's label sets are
    listed with their neuron counts.

    Members only: annotators reach a study through its annotation page, which shows only
    the units given to them.
    """
    study = access_study(request.user, study_id, need="view")
    layer = request.GET.get("layer", "")
    counts = label_set_layer_counts(study.pk)
    tabs = label_set_tabs(study.label_sets.order_by("pk"), counts)
    chosen = chosen_tab(tabs, request.GET.get("label_set"))
    neurons = study.neurons.filter(role=Neuron.Role.REAL, label_set_id=chosen and chosen.id)
    neurons = neurons.prefetch_related(
        Prefetch(
            "images",
            queryset=NeuronImage.objects.filter(TOP_K).select_related("image").order_by("rank"),
        )
    )
    if layer:
        neurons = neurons.filter(layer=layer)
    in_set = {
        name: n
        for (label_set, name), n in counts.items()
        if chosen and label_set == chosen.id and (not layer or name == layer)
    }
    ordered = LayerOrderedNeurons(neurons, study.layers, counts=in_set)
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
            "label_sets": tabs,
            "label_set": chosen,
            "set_query": urlencode({"label_set": chosen.id} if chosen else {}),
            "start_run_form": StartRunForm(question=study.question_type),
            "members": members,
            "my_role": my_role,
            "can_manage": my_role in ("owner", "manager", "superuser"),
            "sample_form": SampleProbeImagesForm() if study.probe_set_id else None,
        },
    )


@user_passes_test(lambda user: user.is_staff)
def study_import(request):
    """Create a study from uploaded files."""

    def do_import(form):
        return do_import_study_upload(form.upload(), owner=request.user)

    return _upload_page(request, StudyImportForm, do_import, "annotate/import.html", {})


@login_required
def study_add(request, study_id: int):
    """Add a label file and/or images to one study."""
    study = access_study(request.user, study_id, need="manage")

    def do_import(form):
        return study, do_import_into_study(study, form.study_files())

    return _upload_page(
        request,
        partial(StudyAddForm, study),
        do_import,
        "annotate/study_add.html",
        {"study": study},
    )


def _upload_page(request, form_class, do_import, template, context):
    """An import form whose files are kept on the server after a refusal, so that a retry
    needs only the files that change."""
    kept = access_kept_uploads(request.user, request.POST.get("kept", ""))
    try:
        return _handle_upload(request, form_class, do_import, template, context, kept)
    finally:
        if kept is not None:
            kept.close()


def _handle_upload(request, form_class, do_import, template, context, kept):
    if request.method != "POST":
        return render(request, template, {**context, "form": form_class()})
    files = MultiValueDict()
    form = form_class(request.POST, files)
    names = form.upload_fields()
    if kept is not None:
        for field in set(request.POST.getlist("forget")) & set(names):
            kept.forget(field)
        files.update(kept.files(names))
    for name in names:
        if name in request.FILES:
            files[name] = request.FILES[name]
    problems = None
    if form.is_valid():
        try:
            study, reports = do_import(form)
        except ImportFailed as exc:
            problems = exc
        else:
            if kept is not None:
                kept.delete()
            for report in reports:
                messages.success(request, report.summary())
            return redirect("study-detail", study.pk)
    uploads = {name: request.FILES[name] for name in names if name in request.FILES}
    kept = do_keep_uploads(kept, uploads) if uploads or kept is not None else None
    form.kept = kept.names() if kept is not None else {}
    return render(
        request,
        template,
        {
            **context,
            "form": form,
            "problems": problems,
            "kept_token": kept.signed(request.user) if kept is not None else "",
        },
    )


@require_POST
@login_required
def study_sample_probe_images(request, study_id: int):
    """Staff: draw images from the probe set beyond each neuron's top-k; back to the study."""
    study = access_study(request.user, study_id, need="manage")
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
