"""Reports computed ahead of the page that shows them (default queue)."""

from celery import shared_task

from evaluation.reports.cache import warm_study_report


@shared_task(name="tasks.reports.warm_report")
def warm_report(study_id: int) -> str:
    """Compute and cache a study's default report, so the first page view after a run
    finishes reads it from the cache (a cold report of 2 million judgments takes seconds)."""
    return warm_study_report(study_id)
