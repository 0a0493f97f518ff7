from django.contrib import admin

from evaluation.models import EvaluationRun, Judgment, LabelJudgment, Rater, RunChunk

admin.site.register([Rater, Judgment, LabelJudgment, EvaluationRun, RunChunk])
