from django.contrib import admin

from evaluation.models import EvaluationRun, Judgment, Rater, RunChunk

admin.site.register([Rater, Judgment, EvaluationRun, RunChunk])
