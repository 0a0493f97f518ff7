"""docker-compose.yml, checked without a Docker engine: the cluster pieces are there and the
rater worker can be scaled (no fixed name or host port)."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "cpu-worker", "worker", "flower")


def _interpolate(text: str) -> str:
    """Compose's `${VAR:-default}` with every variable unset."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text).replace("$$", "$")


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
    assert services["web"]["command"].startswith("sh scripts/start-web")
    assert "exec gunicorn config.wsgi:application" in (ROOT / "scripts/start-web").read_text()
    assert services["flower"]["command"].startswith("celery -A config flower")
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"]


def test_published_ports_stay_on_localhost_by_default(services):
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def _start_web(tmp_path: Path, services: dict, **env: str) -> tuple[int, list[str], str]:
    """Run the web container's command with `python` and `gunicorn` stubbed: what it runs."""
    log = tmp_path / "ran.log"
    for tool in ("python", "gunicorn"):
        stub = tmp_path / tool
        stub.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        stub.chmod(0o755)
    env_of_web = services["web"]["environment"].items()
    full_env = {k: str(v) for k, v in env_of_web if v is not None}
    full_env |= {"PATH": f"{tmp_path}:/usr/bin:/bin", **env}
    done = subprocess.run(
        services["web"]["command"].split(),
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    ran = log.read_text().splitlines() if log.exists() else []
    return done.returncode, ran, done.stderr


def test_web_loads_the_demo_only_when_asked(tmp_path, services):
    assert services["web"]["environment"]["NEURONJUDGE_LOAD_DEMO"] == 0
    code, ran, _ = _start_web(tmp_path, services)
    assert code == 0
    assert ran[0] == "python manage.py migrate --noinput"
    assert ran[1].startswith("gunicorn config.wsgi:application --bind 0.0.0.0:8000")
    assert len(ran) == 2  # no load_demo, so no demo/demo superuser

    (tmp_path / "ran.log").unlink()
    code, ran, _ = _start_web(tmp_path, services, NEURONJUDGE_LOAD_DEMO="1")
    assert code == 0
    assert ran[1] == "python manage.py load_demo"
    assert ran[2].startswith("gunicorn ")


def test_web_refuses_an_unclear_demo_setting(tmp_path, services):
    code, ran, stderr = _start_web(tmp_path, services, NEURONJUDGE_LOAD_DEMO="yes")
    assert code == 2
    assert "NEURONJUDGE_LOAD_DEMO=yes: use 1 (load the demo) or 0" in stderr
    assert "gunicorn" not in " ".join(ran)
