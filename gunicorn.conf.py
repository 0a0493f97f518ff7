"""gunicorn reads this file from the working directory (Dockerfile, docker compose)."""

import gc


def post_worker_init(worker):
    """Once Django and its URLconf (views, numpy, pandas) are loaded, freeze them out of the
    garbage collector's sight: a full collection then scans only what requests create. At
    500,000 pairs a cached report read (a 2 MB dict unpickled) went from 36 / 203 ms p50 /
    p95 to 19 / 22 ms (bench/scale_measure.py does the same)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  import every view module now
    gc.freeze()
