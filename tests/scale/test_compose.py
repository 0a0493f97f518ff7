"""docker-compose.yml, checked without a Docker engine: the cluster pieces are there and the
rater worker can be scaled (no fixed name or host port)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "cpu-worker", "worker", "flower")


def _interpolate(text: str) -> str:
    """Compose's `${VAR:-default}` with every variable unset."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(_interpolate((ROOT / "docker-compose.yml").read_text()))["services"]


def test_gpu_worker_reserves_an_nvidia_device_and_scales(services):
    worker = services["worker"]
    [device] = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    assert worker["profiles"] == ["gpu"]
    assert "container_name" not in worker and "ports" not in worker
    assert "-Q gpu " in worker["command"] and "worker@%h" in worker["command"]


def test_app_containers_share_media_through_minio(services):
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["MEDIA_STORAGE"] == "s3", name
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production", name
        assert "volumes" not in services[name] or all(
            not v.startswith("media") for v in services[name]["volumes"]
        ), name
    assert "mc mb --ignore-existing" in services["minio-init"]["entrypoint"]
    assert services["web"]["depends_on"]["minio-init"] == {
        "condition": "service_completed_successfully"
    }


def test_web_is_gunicorn_and_flower_watches_the_queues(services):
    assert "exec gunicorn config.wsgi:application" in services["web"]["command"]
    assert services["flower"]["command"].startswith("celery -A config flower")
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"]


def test_published_ports_stay_on_localhost_by_default(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)
