"""Start Django for a bench script: its own database and Redis namespace, migrated."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(defaults: dict[str, str]) -> None:
    """Fill unset environment variables from `defaults`, start Django, create and migrate the
    bench database (each bench keeps its own, so runs never touch the development data)."""
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("ensure_database")
    call_command("migrate", verbosity=0)
