"""Agreement maths: plain Python over numpy/pandas, no Django. Entry point: `build_report`."""

from evaluation.agreement.report import AgreementReport, ReportOptions, build_report

__all__ = ["AgreementReport", "ReportOptions", "build_report"]
