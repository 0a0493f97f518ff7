import pytest

from tests.dense.helpers import new_worker
from tests.openclip.conftest import context_factory, encoder  # noqa: F401  (shared fixtures)


@pytest.fixture(autouse=True)
def _fresh_worker_state():
    """Each test starts, and leaves the next one, as a new worker process would."""
    new_worker()
    yield
    new_worker()
