"""The label-rating kinds in the rater registry, the Rater choices and rater configurations."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from evaluation.forms import StartRunForm
from evaluation.models import Rater
from evaluation.rater_configs import do_get_rater
from evaluation.raters.registry import (
    LABEL_RATING,
    build_label_rater,
    check_params,
    higher_means_yes,
    kind_choices,
    rater_kind,
)
from evaluation.raters.vqa_openai_settings import EndpointNotAllowed

ROOT = Path(__file__).resolve().parents[2]
LABEL_KINDS = [
    ("vqa_blip2_rating", "VQA: BLIP-2 rating 1-5"),
    ("vqa_openai_rating", "VQA: endpoint rating 1-5"),
]


def test_label_kinds_are_listed_apart_from_the_pair_kinds():
    assert kind_choices(LABEL_RATING) == LABEL_KINDS
    assert not set(LABEL_KINDS) & set(kind_choices())
    assert set(LABEL_KINDS) <= set(kind_choices(None))
    assert dict(StartRunForm().fields["kind"].choices).keys().isdisjoint(dict(LABEL_KINDS))
    for kind, label in LABEL_KINDS:
        assert (kind, label) in Rater.Kind.choices
        assert rater_kind(kind).question == LABEL_RATING and higher_means_yes(kind) is True


def test_a_pair_kind_is_no_label_rater():
    with pytest.raises(ValueError, match="'vqa_blip2' rates \\(neuron, image\\) pairs"):
        build_label_rater("vqa_blip2", {})


@pytest.mark.django_db
def test_same_rating_configuration_is_one_rater_with_its_prompts_stored():
    rater = do_get_rater("vqa_blip2_rating", {})
    assert "1 to 5" in rater.params["prompt"] and "{label}" in rater.params["yes_no_prompt"]
    assert do_get_rater("vqa_blip2_rating", {"combine": "mean"}) == rater
    assert do_get_rater("vqa_blip2_rating", {"combine": "max"}) != rater
    assert rater.name.startswith("VQA: BLIP-2 rating 1-5 · Salesforce/blip2-opt-2.7b")


@pytest.mark.django_db
@override_settings(NEURONJUDGE_VQA_ALLOWED_HOSTS=["gpu-box"])
def test_endpoint_rating_rater_is_fenced_by_the_settings():
    params = {"base_url": "http://gpu-box:8000/v1", "model": "llava"}
    rater = do_get_rater("vqa_openai_rating", params)
    assert "1 to 5" in rater.params["prompt"]
    with pytest.raises(EndpointNotAllowed, match="'127.0.0.1' is not in"):
        do_get_rater("vqa_openai_rating", {**params, "base_url": "http://127.0.0.1:8000/v1"})
    with pytest.raises(EndpointNotAllowed, match="got 'DATABASE_URL'"):
        do_get_rater("vqa_openai_rating", {**params, "api_key_env": "DATABASE_URL"})
    assert Rater.objects.filter(kind="vqa_openai_rating").count() == 1


def test_checking_rating_parameters_does_not_import_torch():
    code = (
        "import sys\n"
        "from evaluation.raters.registry import check_params\n"
        "check_params('vqa_blip2_rating', {})\n"
        "check_params('vqa_openai_rating', {'base_url': 'http://127.0.0.1:8/v1', 'model': 'm'})\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert check_params("vqa_blip2_rating", {})["combine"] == "mean"
