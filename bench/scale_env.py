"""Django set-up for the scale benchmarks: their own database, cache and media folder.

Defaults keep the benchmark away from the development database; override with the usual
environment variables. DEBUG stays off so Django does not keep every query in memory.
"""

from pathlib import Path

import bench_django  # bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nj_scale_bench",
    "CACHE_URL": "redis://127.0.0.1:6379/9",
    "MEDIA_ROOT": str(ROOT / "var" / "bench-media"),
    "HF_HUB_OFFLINE": "1",
}


def setup() -> None:
    bench_django.setup_django(DEFAULTS)
