"""A study with a probe set, activations and labels, and OpenCLIP raters built on a tiny
in-process CLIP, for the dense (whole probe set) runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from annotate.demo_images import COLORS, SHAPES, TEXTURES, render
from annotate.importers.activations import do_import_activations
from annotate.importers.probe_sets import do_import_probe_set
from annotate.models import ConceptSet, Neuron, Study
from evaluation import dense_runs, run_actions, runs
from evaluation.models import RunChunk
from evaluation.rater_configs import do_get_rater
from evaluation.raters.clip_spec import DEMO_MODEL
from evaluation.raters.openclip import ConceptProportionRater, EmbeddingSimilarityRater
from tests.doubles.raters import use_factory
from tests.doubles.tiny_clip import tiny_encoder
from tests.helpers import give_to_staff

CONCEPTS = [*COLORS, *SHAPES, *TEXTURES, "dog", "car"]
LABELS = {"layer1": ["red", "blue", "green"], "layer2": ["circle", "objects"]}
_ENCODER = []


def encoder():
    if not _ENCODER:
        _ENCODER.append(tiny_encoder(seed=7, name="tiny-dense-runs"))
    return _ENCODER[0]


def build_es(params, device, site=None):
    return EmbeddingSimilarityRater(params, encoder())


def build_cp(params, device, site=None):
    return ConceptProportionRater(params, encoder())


def use_tiny_clip(monkeypatch) -> None:
    use_factory(monkeypatch, "openclip_es", "tests.dense.helpers:build_es")
    use_factory(monkeypatch, "openclip_cp", "tests.dense.helpers:build_cp")
    new_worker()


def new_worker() -> None:
    """Forget what a worker process keeps between chunks (loaded encoders and their text
    memo, built raters, probe-set vectors)."""
    from evaluation.raters import clip_encoder

    clip_encoder._ENCODERS.clear()
    runs._RATERS.clear()
    dense_runs._PROBE_IMAGES.clear()


def probe_study(tmp_path: Path, n_images: int = 48, seed: int = 0) -> Study:
    combos = [(s, c, t) for s in SHAPES for c in COLORS for t in TEXTURES]
    folder = tmp_path / "probe" / "all"
    folder.mkdir(parents=True)
    for i in range(n_images):
        shape, color, texture = combos[(i * 7) % len(combos)]
        image = render(shape, color, texture, variant=i, size=32, seed=seed)
        (folder / f"{i:04d}.png").write_bytes(image.png)
    probe_set, _ = do_import_probe_set("dense probe", [tmp_path / "probe"])
    concept_set = ConceptSet.objects.create(
        name="dense concepts", concepts=CONCEPTS, sha256="c" * 64
    )
    study = Study.objects.create(
        name="dense study", target_network="net", probe_dataset="gen", k=3,
        concept_set=concept_set,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    for layer, labels in LABELS.items():
        path = tmp_path / f"{layer}.npy"
        np.save(path, rng.normal(size=(n_images, len(labels))).astype(np.float32))
        do_import_activations(study, probe_set.name, layer, path)
        for unit, label in enumerate(labels):
            Neuron.objects.filter(study=study, layer=layer, unit=unit).update(label=label)
    return give_to_staff(Study.objects.get(pk=study.pk))


def raters():
    es = do_get_rater("openclip_es", {"model": DEMO_MODEL, "threshold": 0.1})
    cp = do_get_rater("openclip_cp", {"model": DEMO_MODEL, "proportion": 0.3})
    return es, cp


def run_in_process(study: Study, rater, options: dict, monkeypatch) -> int:
    """Start a run and rate its chunks here, as a worker would, in order."""
    monkeypatch.setattr(run_actions, "_send", lambda messages: None)
    run = run_actions.do_start_run(study, rater, options, user=None)
    for chunk_id in run_actions.do_plan_run(run.pk):
        runs.do_rate_chunk(chunk_id, worker="test")
    return run.pk


def chunk_kinds(run_id: int) -> list[str]:
    return list(
        RunChunk.objects.filter(run_id=run_id).order_by("index").values_list("kind", flat=True)
    )
