"""The rater registry: one entry per automatic kind, read by forms, serializers and runs."""

import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.api.serializers import RaterSerializer
from evaluation.forms import StartRunForm
from evaluation.models import Rater
from evaluation.raters import registry
from evaluation.raters.registry import RATER_KINDS, UnknownRaterKind, higher_means_yes, rater_kind

ROOT = Path(__file__).resolve().parents[2]
PAIR_KINDS = ["openclip_es", "openclip_cp", "vqa_blip2", "vqa_openai"]
AUTOMATIC = [*PAIR_KINDS, "vqa_blip2_rating", "vqa_openai_rating"]


def test_every_automatic_kind_has_one_entry_and_its_database_choice():
    assert list(RATER_KINDS) == AUTOMATIC
    automatic_choices = {
        value: label for value, label in Rater.Kind.choices if value not in ("human", "consensus")
    }
    assert automatic_choices == {kind: entry.label for kind, entry in RATER_KINDS.items()}


def test_the_pair_form_offers_the_pair_kinds_and_the_rater_api_takes_every_kind():
    assert [value for value, _ in StartRunForm().fields["kind"].choices] == PAIR_KINDS
    assert list(RaterSerializer().fields["kind"].choices) == AUTOMATIC


def test_score_directions():
    """Concept proportion scores rank / |S| (low is yes); the others score up towards yes."""
    assert {kind: higher_means_yes(kind) for kind in AUTOMATIC} == {
        "openclip_es": True,
        "openclip_cp": False,
        "vqa_blip2": True,
        "vqa_openai": True,
        "vqa_blip2_rating": True,  # a higher rating: the label fits better
        "vqa_openai_rating": True,
    }
    assert higher_means_yes("human") is None and higher_means_yes("consensus") is None


def test_unknown_kinds_are_refused_clearly():
    for kind in ("human", "consensus", "openclip"):
        with pytest.raises(UnknownRaterKind, match=f"'{kind}' is not an automatic rater kind"):
            rater_kind(kind)
    with pytest.raises(ValueError, match="parameters must be a JSON object"):
        registry.check_params("vqa_blip2", ["model"])


def test_every_entry_checks_parameters_with_defaults_filled_in():
    full = {
        kind: registry.check_params(kind, params)
        for kind, params in {
            "openclip_es": {"model": "neuronjudge-demo-clip"},
            "openclip_cp": {"model": "neuronjudge-demo-clip"},
            "vqa_blip2": {},
            "vqa_openai": {"base_url": "http://127.0.0.1:8000/v1", "model": "llava"},
            "vqa_blip2_rating": {},
            "vqa_openai_rating": {"base_url": "http://127.0.0.1:8000/v1", "model": "llava"},
        }.items()
    }
    assert full["openclip_es"]["threshold"] == 0.365  # the demo model's calibrated threshold
    assert full["openclip_cp"]["proportion"] == 0.01
    assert full["vqa_blip2"]["model"] == "Salesforce/blip2-opt-2.7b"
    assert full["vqa_openai"]["api_key_env"] == "NEURONJUDGE_VQA_API_KEY"
    assert full["vqa_blip2_rating"]["combine"] == "mean"
    assert full["vqa_openai_rating"]["api_key_env"] == "NEURONJUDGE_VQA_API_KEY"


def test_building_uses_the_entry_factory(monkeypatch):
    from tests.doubles import raters as rater_doubles

    rater_doubles.use_factory(monkeypatch, "vqa_blip2", "tests.doubles.raters:build")
    built = registry.build_rater("vqa_blip2", {"fail_after": 3}, "cpu")
    assert isinstance(built, rater_doubles.ParityRater) and built.fail_after == 3


def test_checks_and_model_lists_do_not_import_torch():
    """The web process uses the checks and model lists of every kind; torch is the workers'."""
    code = (
        "import sys\n"
        "from evaluation.raters.registry import RATER_KINDS\n"
        "for entry in RATER_KINDS.values():\n"
        "    entry.local_models()\n"
        "    entry.check_params({'base_url': 'http://127.0.0.1/v1', 'model': 'm'}\n"
        "                       if entry.kind.startswith('vqa_openai') else {})\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'open_clip' not in sys.modules, 'open_clip imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
