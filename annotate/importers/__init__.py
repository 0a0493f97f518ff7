"""Importing dissection results: concept sets, neuron labels and top-k images.

Each importer is one transaction: on any problem it raises `ImportFailed` listing the
problems (file, line, what is wrong) and changes nothing. Importing the same files twice
changes nothing the second time.
"""

from annotate.importers.errors import ImportFailed, ImportReport, Problem

__all__ = ["ImportFailed", "ImportReport", "Problem"]
