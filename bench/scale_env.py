"""Django set-up for the scale benchmarks: their own database, cache and media folder.

Defaults keep the benchmark away from the development database; override with the usual
environment variables. DEBUG stays off so Django does not keep every query in memory.
"""

import os
import sys
from pathlib import Path

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
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("ensure_database")
    call_command("migrate", verbosity=0)
