"""Long imports report progress: images checked and stored, units read."""

import pytest
import torch

from annotate.importers.activations import do_import_activations
from annotate.importers.probe_sets import do_import_probe_set
from tests.probe_sets.helpers import image_folder, make_study

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self):
        self.bars: dict[str, list] = {}

    def __call__(self, description: str, total: int):
        self.bars[description] = [total, 0, False]
        bar = self.bars[description]

        class Bar:
            def update(self, n=1):
                bar[1] += n

            def close(self):
                bar[2] = True

        return Bar()


def test_progress_reaches_totals(tmp_path):
    root = image_folder(tmp_path / "probe", {"a": ["1.png", "2.png"], "b": ["3.png"]})
    record = Recorder()
    do_import_probe_set("probe", [root], progress=record)
    torch.save(torch.rand(3, 300), tmp_path / "acts.pt")
    do_import_activations(make_study(), "probe", "layer4", tmp_path / "acts.pt", progress=record)
    assert record.bars == {
        "checking images": [3, 3, True],
        "storing images": [3, 3, True],
        "reading activations (units)": [300, 300, True],
    }
