"""An endpoint rater may only read NEURONJUDGE_VQA_* variables and only call allowed hosts.

Otherwise a staff user could name `api_key_env=DATABASE_URL` and a server of their own, and
the worker would send the database password there as a bearer token.
"""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from evaluation import run_actions, runs
from evaluation.models import EvaluationRun, Judgment, Rater, RunStatus
from evaluation.raters.base import Pair, RaterSite
from evaluation.raters.openai_vqa import build_openai_vqa
from evaluation.raters.vqa_openai_settings import EndpointNotAllowed, check_openai_vqa_params
from tests.doubles.chat_server import chat_server
from tests.doubles.images import context_for, image_set

KEY_REFUSED = (
    "api_key_env must name an environment variable starting with NEURONJUDGE_VQA_, "
    "got 'DATABASE_URL'"
)
HOST_REFUSED = (
    "base_url host 'evil.example' is not in NEURONJUDGE_VQA_ALLOWED_HOSTS (127.0.0.1, localhost)"
)
LOOPBACK = "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"base_url": LOOPBACK, "api_key_env": "DATABASE_URL"}, KEY_REFUSED),
        ({"base_url": LOOPBACK, "api_key_env": "SECRET_KEY"}, "got 'SECRET_KEY'"),
        ({"base_url": "http://evil.example/v1"}, HOST_REFUSED),
        ({"base_url": "https://127.0.0.1@evil.example/v1"}, HOST_REFUSED),
        ({"base_url": "http://localhost.evil.example/v1"}, "'localhost.evil.example' is not"),
        ({"base_url": "http://[::1/v1"}, "not a valid URL"),
    ],
)
def test_other_variables_and_hosts_are_refused(params, message):
    with pytest.raises(EndpointNotAllowed) as caught:
        check_openai_vqa_params({"model": "m", **params})
    assert message in str(caught.value)


def test_allowed_hosts_come_from_the_site_and_ignore_case():
    params = {"base_url": "http://GPU-Box:8000/v1", "model": "m"}
    with pytest.raises(EndpointNotAllowed, match="'gpu-box' is not in"):
        check_openai_vqa_params(params)
    settings = check_openai_vqa_params(params, RaterSite(allowed_hosts=frozenset({"gpu-box"})))
    assert settings.base_url == "http://GPU-Box:8000/v1"


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.mark.django_db
def test_api_refuses_a_foreign_key_variable_or_host_with_400(staff_api):
    for params, message in [
        ({"base_url": LOOPBACK, "api_key_env": "DATABASE_URL"}, KEY_REFUSED),
        ({"base_url": "http://evil.example/v1"}, HOST_REFUSED),
    ]:
        body = {"name": "leak", "kind": "vqa_openai", "params": {"model": "m", **params}}
        response = staff_api.post("/api/raters/", body, format="json")
        assert response.status_code == 400
        assert response.json() == {"params": [message]}
    assert not Rater.objects.exists()


@pytest.mark.django_db
@override_settings(NEURONJUDGE_VQA_ALLOWED_HOSTS=["gpu-box"])
def test_the_allow_list_setting_decides(staff_api):
    body = {"name": "lab", "kind": "vqa_openai", "params": {"model": "m"}}
    ok = staff_api.post(
        "/api/raters/",
        {**body, "params": {"model": "m", "base_url": "http://gpu-box/v1"}},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    refused = staff_api.post(
        "/api/raters/",
        {**body, "name": "local", "params": {"model": "m", "base_url": LOOPBACK}},
        format="json",
    )
    assert refused.status_code == 400
    assert "'127.0.0.1' is not in NEURONJUDGE_VQA_ALLOWED_HOSTS (gpu-box)" in str(refused.json())


@pytest.mark.django_db
def test_page_refuses_with_a_form_error(client, staff, make_study, monkeypatch):
    published: list = []
    monkeypatch.setattr(
        "evaluation.run_actions._send", lambda messages: published.extend(messages)
    )
    study = make_study(neurons=1, k=2)
    client.force_login(staff)
    response = client.post(
        reverse("run-start", args=[study.pk]),
        {
            "kind": "vqa_openai",
            "model": "llava",
            "precision": "fp32",
            "params_json": '{"base_url": "http://127.0.0.1:9/v1", "api_key_env": "DATABASE_URL"}',
        },
        follow=True,
    )
    assert escape(f"Run not started: {KEY_REFUSED}") in response.content.decode()
    assert not Rater.objects.exists() and not EvaluationRun.objects.exists() and not published


@pytest.mark.django_db
def test_command_refuses_with_a_command_error(make_study):
    study = make_study(neurons=1, k=2)
    with pytest.raises(CommandError, match="'evil.example' is not in"):
        call_command(
            "start_run",
            "--study",
            study.name,
            "--kind",
            "vqa_openai",
            "--param",
            "model=m",
            "--param",
            "base_url=http://evil.example/v1",
        )
    assert not Rater.objects.exists()


def test_a_rater_built_from_stored_parameters_checks_again(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    with chat_server(lambda n, body: ("text", "Yes")) as server:
        params = {"base_url": server.base_url, "model": "m", "api_key_env": "DATABASE_URL"}
        with pytest.raises(EndpointNotAllowed, match="NEURONJUDGE_VQA_"):
            build_openai_vqa(params, "cpu")
        with pytest.raises(EndpointNotAllowed, match="'127.0.0.1' is not in"):
            gpu_box_only = RaterSite(allowed_hosts=frozenset({"gpu-box"}))
            build_openai_vqa({**params, "api_key_env": "NEURONJUDGE_VQA_KEY"}, "cpu", gpu_box_only)
    assert server.requests == []


@pytest.mark.django_db
def test_worker_refuses_a_stored_rater_before_sending_anything(make_study, monkeypatch):
    """A row written before the rules (or straight to the database) is refused on the worker."""
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    study = make_study(neurons=2, k=2, labels=["dog", "cat"])
    runs._RATERS.clear()
    with chat_server(lambda n, body: ("text", "Yes")) as server:
        params = {"base_url": server.base_url, "model": "m", "api_key_env": "DATABASE_URL"}
        rater = Rater.objects.create(name="stored", kind="vqa_openai", params=params)
        run = run_actions.do_create_run(study, rater)
        [chunk_id] = run_actions.do_plan_run(run.pk, chunk_pairs=100)
        with pytest.raises(EndpointNotAllowed):
            runs.do_rate_chunk(chunk_id, worker="w1")
        with override_settings(NEURONJUDGE_VQA_ALLOWED_HOSTS=["gpu-box"]):
            allowed_key = {**params, "api_key_env": "NEURONJUDGE_VQA_KEY"}
            other = Rater.objects.create(name="moved", kind="vqa_openai", params=allowed_key)
            other_run = run_actions.do_create_run(study, other)
            [other_chunk] = run_actions.do_plan_run(other_run.pk, chunk_pairs=100)
            with pytest.raises(EndpointNotAllowed, match="'127.0.0.1' is not in"):
                runs.do_rate_chunk(other_chunk, worker="w1")
    assert server.requests == [] and server.headers_seen == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "NEURONJUDGE_VQA_" in run.error
    assert not Judgment.objects.exists()


def test_a_redirect_is_not_followed_with_the_key(monkeypatch):
    monkeypatch.setenv("NEURONJUDGE_VQA_KEY", "sk-secret")
    with chat_server(lambda n, body: ("text", "Yes")) as server:
        rater = build_openai_vqa(
            {"base_url": server.base_url, "model": "m", "api_key_env": "NEURONJUDGE_VQA_KEY"},
            "cpu",
        )
        assert rater.client.follow_redirects is False
        images = image_set(1)
        [verdict] = rater.rate([Pair(1, next(iter(images)), "dog")], context_for(images))
    assert verdict.verdict == "yes"
    assert server.headers_seen[0]["Authorization"] == "Bearer sk-secret"
