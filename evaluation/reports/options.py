"""The options of a report, one name per field, read from query parameters in one place.

The report page, its report.json, its table downloads and the API all call
`check_report_options`, so a parameter means the same everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from evaluation.agreement.consensus import REFERENCES
from evaluation.agreement.figures import FigureSettings
from evaluation.agreement.neuron_level import check_rule
from evaluation.agreement.ordinal import DEFAULT_THRESHOLD, SCALE

MAX_BOOT = 5000


@dataclass(frozen=True)
class ReportOptions:
    """A report's options; the query parameter of each field has the field's name
    (`exclude_id` for `exclude_rater_ids`, repeated)."""

    rule: str = "any"  # a neuron's label is correct when any / majority / all images match
    reference: str = "dawid_skene"  # the human consensus the models are compared with
    n_boot: int = 500  # bootstrap resamples for the 95% intervals
    exclude: tuple[str, ...] = ()  # annotator names left out of the consensus
    exclude_rater_ids: tuple[int, ...] = ()  # the same by Rater id
    # Annotators whose gold accuracy is under this are left out; None: the study's bar
    # (AnnotationSettings.min_gold_accuracy), filled in by `with_study_defaults`.
    min_gold: float | None = None
    rating_threshold: int = DEFAULT_THRESHOLD  # a 1-5 rating at or above it counts as yes
    seed: int = 0  # of the bootstrap; not a query parameter
    # One label set's labels only (its name or id; `label_sets.label_set_in_force` makes it
    # the name); None: every label set of the study together.
    label_set: str | None = None

    def check(self) -> None:
        check_rule(self.rule)
        if self.reference not in REFERENCES:
            raise ValueError(f"reference must be one of {', '.join(REFERENCES)}")
        if not 0 <= self.n_boot <= MAX_BOOT:
            raise ValueError(f"n_boot must be between 0 and {MAX_BOOT}")
        if self.min_gold is not None and not 0 <= self.min_gold <= 1:
            raise ValueError("min_gold must be between 0 and 1")
        if self.rating_threshold not in SCALE:
            raise ValueError(f"rating_threshold must be an integer from {SCALE[0]} to {SCALE[-1]}")

    def with_study_defaults(self, study_min_gold: float) -> ReportOptions:
        """These options with the study's gold bar where none was asked for."""
        return self if self.min_gold is not None else replace(self, min_gold=study_min_gold)

    def figure_settings(self, excluded: frozenset[str]) -> FigureSettings:
        return FigureSettings(self.rule, self.reference, self.n_boot, self.seed, excluded)

    def as_dict(self) -> dict:
        return asdict(self) | {
            "exclude": list(self.exclude),
            "exclude_rater_ids": list(self.exclude_rater_ids),
        }


def check_report_options(params) -> ReportOptions:
    """ReportOptions from GET parameters (a QueryDict or a plain dict); raises ValueError
    with a message a person can act on."""
    defaults = ReportOptions()
    getlist = params.getlist if hasattr(params, "getlist") else (lambda key: [])
    try:
        n_boot = int(params.get("n_boot", defaults.n_boot))
        min_gold = params.get("min_gold")
        min_gold = float(min_gold) if min_gold not in (None, "") else None
        ids = tuple(sorted({int(i) for i in getlist("exclude_id")}))
        threshold = int(params.get("rating_threshold", defaults.rating_threshold))
    except ValueError:
        raise ValueError(
            "n_boot, exclude_id and rating_threshold must be integers, min_gold a number"
        ) from None
    options = ReportOptions(
        rule=params.get("rule", defaults.rule),
        reference=params.get("reference", defaults.reference),
        n_boot=n_boot,
        exclude=tuple(sorted(set(getlist("exclude")))),
        exclude_rater_ids=ids,
        min_gold=min_gold,
        label_set=(params.get("label_set") or "").strip() or None,
        rating_threshold=threshold,
    )
    options.check()
    return options
