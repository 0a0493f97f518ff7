"""The API clients of tests/api, for the import endpoint and the study serializer."""
