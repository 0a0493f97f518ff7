"""Production settings: `check --deploy` clean with secrets from files, media on S3 or disk."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from config.storage import MediaStorage

ROOT = Path(__file__).resolve().parents[2]


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(secrets.token_urlsafe(50) + "\n")
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY_FILE": str(secret_file),
        **env,
    }
    full_env.pop("SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("media", ["local", "s3"])
def test_check_deploy_is_clean(tmp_path, media):
    keyfile = tmp_path / "aws_secret"
    keyfile.write_text("minio-secret\n")
    result = _manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        MEDIA_STORAGE=media,
        AWS_S3_ENDPOINT_URL="http://minio:9000",
        AWS_ACCESS_KEY_ID="minio",
        AWS_SECRET_ACCESS_KEY_FILE=str(keyfile),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_storage_backend_follows_media_storage(tmp_path):
    code = (
        "from django.core.files.storage import storages; print(type(storages['default']).__name__)"
    )
    shown = {
        media: _manage(
            tmp_path, "shell", "--no-imports", "-c", code, MEDIA_STORAGE=media
        ).stdout.strip()
        for media in ("local", "s3")
    }
    assert shown == {"local": "FileSystemStorage", "s3": "MediaStorage"}


def test_unknown_media_storage_is_a_clear_error(tmp_path):
    result = _manage(tmp_path, "check", MEDIA_STORAGE="ftp")
    assert result.returncode != 0
    assert "MEDIA_STORAGE='ftp': use 'local' or 's3'" in result.stderr


def test_missing_secret_key_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECRET_KEY")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def _minio_storage(**extra) -> MediaStorage:
    return MediaStorage(
        bucket_name="media",
        endpoint_url="http://minio:9000",
        access_key="minio",
        secret_key="minio-secret",
        addressing_style="path",
        signature_version="s3v4",
        **extra,
    )


def test_browser_links_are_signed_for_the_public_endpoint():
    """Signing is offline: no object store needs to be running for this test."""
    url = urlparse(_minio_storage(public_endpoint_url="http://localhost:9000").url("probe/a.png"))
    assert (url.scheme, url.netloc, url.path) == ("http", "localhost:9000", "/media/probe/a.png")
    assert "X-Amz-Signature=" in url.query


def test_without_public_endpoint_links_use_the_server_endpoint():
    url = urlparse(_minio_storage().url("probe/a.png"))
    assert (url.netloc, url.path) == ("minio:9000", "/media/probe/a.png")
