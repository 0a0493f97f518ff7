"""Where the shared CLIP-Dissect data lives: beside the repository (CI's fresh clone), at
$NEURONJUDGE_SHARED_DIR, or at /work/shared on a developer machine."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [os.environ.get("NEURONJUDGE_SHARED_DIR"), ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "data" / "clip-dissect").is_dir():
            return Path(candidate) / "data" / "clip-dissect"
    return ROOT.parent / "shared" / "data" / "clip-dissect"


CLIP_DISSECT = _find()
RESULTS = CLIP_DISSECT / "results"
CONCEPT_SETS = CLIP_DISSECT / "concept_sets"
