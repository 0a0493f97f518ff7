"""OpenCLIP raters for the demo study: the real ViT-B-32 when its weights are here, else the
small demo CLIP trained on synthetic shapes (evaluation/demo_model, scripts/train_demo_clip.py).
"""

from __future__ import annotations

import logging

from annotate.models import Study
from evaluation.models import EvaluationRun, Rater, RunStatus
from evaluation.rater_configs import do_get_rater
from evaluation.raters.clip_models import reference_weights_cached
from evaluation.raters.clip_spec import DEFAULT_MODEL, DEFAULT_PRETRAINED, DEMO_MODEL
from evaluation.run_actions import do_start_run

log = logging.getLogger(__name__)
KINDS = (Rater.Kind.OPENCLIP_ES, Rater.Kind.OPENCLIP_CP)
# The demo vocabulary pads the 14 shape words with 300 English words the demo model never saw
# in training; their embeddings are arbitrary, so true labels rank within the top ~10%, not 1%.
DEMO_CP_PROPORTION = 0.1


def demo_rater_params(kind: str) -> dict:
    if reference_weights_cached():
        return {"model": DEFAULT_MODEL, "pretrained": DEFAULT_PRETRAINED}
    if kind == Rater.Kind.OPENCLIP_CP:
        return {"model": DEMO_MODEL, "proportion": DEMO_CP_PROPORTION}
    return {"model": DEMO_MODEL}


def do_setup_demo_raters(study: Study, start: bool = True) -> list[Rater]:
    """Create the demo ES and CP raters and queue a run of each on `study`: its pairs and,
    when the study has a probe set, every label on the whole probe set. Idempotent: a rater
    that already has an active run on the study, or a finished one of the same kind (dense
    or not), is left alone."""
    raters = [do_get_rater(kind, demo_rater_params(kind)) for kind in KINDS]
    options = {"dense": True} if study.probe_set_id else {}
    for rater in raters:
        runs = EvaluationRun.objects.filter(rater=rater, study=study)
        started = runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists() or (
            runs.filter(status=RunStatus.DONE, options__dense=True).exists()
            if options
            else runs.filter(status=RunStatus.DONE).exists()
        )
        if start and not started:
            run = do_start_run(study, rater, options=options, user=None)
            log.info("queued demo run %s of %s", run.pk, rater.name)
    return raters
