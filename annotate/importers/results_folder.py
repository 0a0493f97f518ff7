"""CLIP-Dissect's results folder: `descriptions.csv` and the run's `args.txt` (its argparse
settings as JSON: target_model, d_probe, concept_set, clip_model, pool_mode, ...)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from annotate.importers.errors import fail

DESCRIPTIONS = "descriptions.csv"
ARGS = "args.txt"


@dataclass(frozen=True)
class ResultsFolder:
    descriptions: Path
    settings: dict

    @property
    def target_network(self) -> str | None:
        return self.settings.get("target_model") or self.settings.get("target_name")

    @property
    def probe_dataset(self) -> str | None:
        return self.settings.get("d_probe")

    @property
    def concept_set_name(self) -> str | None:
        """The concept set's name as import_concepts stores it: the file's stem."""
        path = self.settings.get("concept_set")
        return Path(str(path)).stem if path else None


def read_results_folder(folder: Path) -> ResultsFolder:
    descriptions = folder / DESCRIPTIONS
    if not descriptions.is_file():
        raise fail(folder.name, f"no {DESCRIPTIONS} in this folder: is it CLIP-Dissect's results?")
    args = folder / ARGS
    if not args.is_file():
        return ResultsFolder(descriptions, {})
    try:
        settings = json.loads(args.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise fail(ARGS, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise fail(ARGS, f"not valid JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(settings, dict):
        raise fail(ARGS, "expected a JSON object of the run's settings")
    return ResultsFolder(descriptions, settings)
