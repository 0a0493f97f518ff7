"""VQA rater configurations as the study page, the API and manage.py create them."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from evaluation.models import Rater
from evaluation.rater_configs import check_rater_params, do_get_rater

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_same_blip2_configuration_is_one_rater_with_defaults_stored():
    rater = do_get_rater("vqa_blip2", {})
    assert rater.params["model"] == "Salesforce/blip2-opt-2.7b"
    assert rater.params["prompt"].endswith("'{label}'? Answer:")
    assert do_get_rater("vqa_blip2", {"threshold": 0.5, "mode": "one_pass"}) == rater
    assert do_get_rater("vqa_blip2", {"threshold": 0.6}) != rater
    assert Rater.objects.filter(kind="vqa_blip2").count() == 2


@pytest.mark.django_db
@override_settings(NEURONJUDGE_VQA_ALLOWED_HOSTS=["gpu-box"])
def test_endpoint_rater_stores_the_key_variable_name_never_a_key():
    params = {
        "base_url": "http://gpu-box:8000/v1",
        "model": "llava",
        "api_key_env": "NEURONJUDGE_VQA_LAB_KEY",
    }
    rater = do_get_rater("vqa_openai", params)
    assert rater.params["api_key_env"] == "NEURONJUDGE_VQA_LAB_KEY"
    assert rater.params["samples"] == 1
    with pytest.raises(ValueError, match="environment variable"):
        do_get_rater("vqa_openai", {**params, "api_key": "sk-123"})
    assert Rater.objects.filter(kind="vqa_openai").count() == 1


@pytest.mark.parametrize(
    "kind, params, message",
    [
        ("vqa_blip2", {"mode": "sample"}, "mode must be"),
        ("vqa_blip2", {"prompt": "Is it a dog?"}, "must contain"),
        ("vqa_openai", {"model": "llava"}, "needs base_url"),
        ("vqa_openai", {"base_url": "http://x/v1", "model": "m", "timeout_s": 0}, "timeout_s"),
    ],
)
def test_bad_vqa_parameters_are_refused_before_a_rater_exists(kind, params, message):
    with pytest.raises(ValueError, match=message):
        check_rater_params(kind, params)


def test_checking_parameters_does_not_import_torch():
    """The web process validates VQA parameters; torch belongs to the workers only."""
    code = (
        "import sys\n"
        "from evaluation.raters.registry import check_params\n"
        "check_params('vqa_blip2', {})\n"
        "check_params('vqa_openai', {'base_url': 'http://127.0.0.1:8000/v1', 'model': 'm'})\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
