"""A run answers its study's question: mismatched kinds are refused by the run lifecycle,
the API, the command and the page, and the start-run form offers only the kinds that fit."""

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from annotate.models import Study
from evaluation.api.serializers import RaterSerializer
from evaluation.forms import StartRunForm
from evaluation.models import EvaluationRun, LabelJudgment, Rater
from evaluation.run_actions import RunRefused, check_can_start, do_create_run
from tests.runs.label_study import label_rating_study, real_labels

pytestmark = pytest.mark.django_db

ENDPOINT = {"base_url": "http://127.0.0.1:9/v1", "model": "llava"}
LABEL_KINDS = ["vqa_blip2_rating", "vqa_openai_rating"]
PAIR_KINDS = ["openclip_es", "openclip_cp", "vqa_blip2", "vqa_openai"]


@pytest.fixture
def raters():
    return {
        "pair": Rater.objects.create(name="blip2 yes/no", kind="vqa_blip2", params={}),
        "label": Rater.objects.create(
            name="llava rating", kind="vqa_openai_rating", params=ENDPOINT
        ),
    }


def test_each_kind_runs_only_on_the_question_it_answers(make_study, raters):
    rated = label_rating_study(make_study)
    pairs = make_study(name="pairs", neurons=2, k=2)
    with pytest.raises(RunRefused) as refused:
        check_can_start(rated, raters["pair"])
    assert str(refused.value) == (
        "blip2 yes/no rates (neuron, image) pairs yes/no, but rated asks for rating 1-5 per "
        "label (label_rating): use one of these kinds instead: vqa_blip2_rating, "
        "vqa_openai_rating."
    )
    with pytest.raises(RunRefused, match="llava rating rates labels 1-5 .* but pairs asks for "):
        do_create_run(pairs, raters["label"])
    Study.objects.filter(pk=pairs.pk).update(question_type="best_of")
    pairs.refresh_from_db()
    with pytest.raises(RunRefused, match="no automatic rater answers that question yet"):
        do_create_run(pairs, raters["label"])
    assert not EvaluationRun.objects.exists()
    check_can_start(rated, raters["label"])  # the fitting kind starts


def test_a_label_study_without_top_images_is_refused(raters):
    empty = Study.objects.create(
        name="empty", target_network="n", probe_dataset="p", question_type="label_rating"
    )
    with pytest.raises(RunRefused, match="empty has no labels with top images to rate"):
        check_can_start(empty, raters["label"])


def test_the_api_and_the_command_refuse_a_mismatched_kind(make_study, raters, staff_api):
    rated = label_rating_study(make_study)
    response = staff_api.post(
        "/api/runs/", {"study": rated.pk, "rater": raters["pair"].pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("blip2 yes/no rates (neuron, image) pairs")
    with pytest.raises(CommandError, match="but rated asks for rating 1-5 per label"):
        call_command("start_run", "--study", "rated", "--kind", "openclip_es")
    assert not EvaluationRun.objects.exists()

    fits = staff_api.post(
        "/api/runs/", {"study": rated.pk, "rater": raters["label"].pk}, format="json"
    )
    assert fits.status_code == 201, fits.json()
    assert fits.json()["total_pairs"] == 6 and fits.json()["status"] == "queued"


def test_the_rater_api_takes_every_automatic_kind(staff_api):
    assert list(RaterSerializer().fields["kind"].choices) == [*PAIR_KINDS, *LABEL_KINDS]
    body = {"name": "blip2 rating", "kind": "vqa_blip2_rating", "params": {}}
    response = staff_api.post("/api/raters/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["params"]["combine"] == "mean"


def test_the_form_offers_the_kinds_of_the_study_question():
    assert [k for k, _, _ in StartRunForm(question="label_rating").kind_options()] == LABEL_KINDS
    assert [k for k, _, _ in StartRunForm().kind_options()] == PAIR_KINDS
    assert StartRunForm(question="best_of").kind_options() == []
    form = StartRunForm({"kind": "vqa_blip2", "precision": "fp32"}, question="label_rating")
    assert not form.is_valid()
    assert form.errors["kind"] == [
        "vqa_blip2 does not answer this study's question (label_rating); the kinds that do: "
        "vqa_blip2_rating, vqa_openai_rating"
    ]


def test_the_study_page_offers_fitting_kinds_and_says_when_there_are_none(
    client, make_study, staff
):
    rated = label_rating_study(make_study)
    client.force_login(staff)
    page = client.get(reverse("study-detail", args=[rated.pk])).content.decode()
    assert 'value="vqa_openai_rating"' in page and 'value="vqa_blip2"' not in page
    response = client.post(
        reverse("run-start", args=[rated.pk]), {"kind": "vqa_blip2", "precision": "fp32"},
        follow=True,
    )  # fmt: skip
    assert "Run not started: vqa_blip2 does not answer this study&#x27;s question" in (
        response.content.decode()
    )
    Study.objects.filter(pk=rated.pk).update(question_type="best_of")
    page = client.get(reverse("study-detail", args=[rated.pk])).content.decode()
    assert "No automatic rater answers this study's question (best of" in page
    assert 'id="run-kind"' not in page


def test_an_unparseable_rating_has_no_rating_and_is_no_human_flag(make_study, raters):
    neuron = real_labels(label_rating_study(make_study))[0]
    rater = raters["label"]
    with pytest.raises(IntegrityError), transaction.atomic():
        LabelJudgment.objects.create(rater=rater, neuron=neuron, question="label_rating")
    with pytest.raises(IntegrityError), transaction.atomic():
        LabelJudgment.objects.create(
            rater=rater, neuron=neuron, question="label_rating", rating=3, unparseable=True
        )
    stored = LabelJudgment.objects.create(
        rater=rater, neuron=neuron, question="label_rating", unparseable=True
    )
    assert stored.rating is None and not stored.uninterpretable
