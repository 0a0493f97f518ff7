"""The API clients of tests/api, for the import endpoint and the study serializer."""

from tests.api.conftest import staff_api  # noqa: F401
