import pytest

from tests.dense.helpers import new_worker


@pytest.fixture(autouse=True)
def _fresh_worker_state():
    """Each test starts, and leaves the next one, as a new worker process would."""
    new_worker()
    yield
    new_worker()
