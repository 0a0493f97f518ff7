"""`python -m tests.scale.worker ARGS`: a Celery worker that also knows the test rater.

The registry maps kinds to factories in-process, so a worker subprocess gets the test rater
by patching its own registry before it starts.
"""

import sys

from evaluation.raters import registry

registry.FACTORIES["openclip_es"] = "tests.scale.doubles:build"

if __name__ == "__main__":
    from config.celery_app import app

    app.worker_main(["worker", *sys.argv[1:]])
