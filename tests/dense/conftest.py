from tests.openclip.conftest import context_factory, encoder  # noqa: F401  (shared fixtures)
