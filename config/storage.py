"""Media on an S3-compatible object store (AWS S3, MinIO) for deployments on several machines."""

from functools import cached_property

from storages.backends.s3 import S3Storage


class MediaStorage(S3Storage):
    """S3 media whose browser links may be signed for another address than the servers use.

    Inside docker compose the servers reach MinIO as http://minio:9000 while browsers reach
    it as http://localhost:9000; a presigned URL is only valid for the host it was signed
    for, so links are signed by a second client pointed at `public_endpoint_url`.
    """

    def __init__(self, public_endpoint_url: str | None = None, **settings):
        self.public_endpoint_url = public_endpoint_url
        self._init_settings = settings
        super().__init__(**settings)

    @cached_property
    def _public(self) -> S3Storage:
        return S3Storage(**{**self._init_settings, "endpoint_url": self.public_endpoint_url})

    def url(self, name, parameters=None, expire=None, http_method=None):
        if not self.public_endpoint_url:
            return super().url(name, parameters, expire, http_method)
        return self._public.url(name, parameters, expire, http_method)
