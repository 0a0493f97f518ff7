"""`python -m tests.doubles.worker_with_test_raters ARGS`: a Celery worker knowing the test rater.

The registry maps kinds to factories in-process, so a worker subprocess gets the test rater
by patching its own registry before it starts.
"""

import sys
from dataclasses import replace

from evaluation.raters import registry

registry.RATER_KINDS["openclip_es"] = replace(
    registry.RATER_KINDS["openclip_es"], factory="tests.doubles.storage_hash_rater:build"
)

if __name__ == "__main__":
    from config.celery_app import app

    app.worker_main(["worker", *sys.argv[1:]])
