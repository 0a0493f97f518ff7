"""Media on an S3-compatible store, as in the cluster set-up: images are stored, read by the
run machinery and linked for browsers through Django's storage API only. moto's S3 server
stands in for MinIO (a real HTTP endpoint on localhost, path-style addressing)."""

import boto3
import httpx
import pytest

from annotate.images import do_store_image
from evaluation import run_actions, runs
from evaluation.models import Judgment, Rater
from evaluation.sources import StorageImageSource
from tests.doubles.raters import use_factory
from tests.helpers import png_bytes

moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.django_db
BUCKET = "neuronjudge-media"
KEYS = {"access_key": "minio", "secret_key": "minio-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    yield port
    server.stop()


@pytest.fixture
def s3_media(settings, s3_endpoint):
    """Servers talk to 127.0.0.1, browsers are sent to localhost: two names, one store."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "config.storage.MediaStorage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": f"http://127.0.0.1:{s3_endpoint}",
                "public_endpoint_url": f"http://localhost:{s3_endpoint}",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                **KEYS,
            },
        },
    }
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{s3_endpoint}",
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name="us-east-1",
    )


def test_images_go_to_the_bucket_and_come_back_through_storage(s3_media, s3_endpoint):
    data = png_bytes((10, 200, 30), seed=7)
    image = do_store_image(data)
    keys = [o["Key"] for o in s3_media.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert image.file.name in keys
    assert StorageImageSource().read(image.sha256) == data

    url = image.file.url
    assert url.startswith(f"http://localhost:{s3_endpoint}/{BUCKET}/probe/")
    assert "X-Amz-Signature=" in url
    assert httpx.get(url).content == data  # what a browser would fetch


def test_a_run_rates_images_it_reads_from_the_object_store(s3_media, make_study, monkeypatch):
    use_factory(monkeypatch, "openclip_es", "tests.doubles.storage_hash_rater:build")
    runs._RATERS.clear()
    study = make_study(name="s3-study", neurons=3, k=2)
    assert s3_media.list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 6
    rater = Rater.objects.create(name="storage-hash-s3", kind="openclip_es", params={})
    run = run_actions.do_create_run(study, rater)
    for chunk_id in run_actions.do_plan_run(run.pk, chunk_pairs=2):
        runs.do_rate_chunk(chunk_id, worker="s3-worker")
    extras = list(Judgment.objects.filter(rater=rater).values_list("extra", flat=True))
    assert len(extras) == 6
    assert all(extra["bytes_match"] for extra in extras)
    runs._RATERS.clear()
