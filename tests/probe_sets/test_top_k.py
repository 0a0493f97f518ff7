"""Top-k images per neuron from the activations: ranks 1..k (k from the study), ties to the
lower row, one picture shown once; and the plain per-column function against torch."""

import numpy as np
import pytest
import torch

from annotate.importers.activations import do_import_activations
from annotate.importers.probe_sets import do_import_probe_set
from evaluation.activations import top_k_per_column
from tests.helpers import png_bytes
from tests.probe_sets.helpers import make_probe_set, make_study, top_images

pytestmark = pytest.mark.django_db


def test_top_k_per_column_matches_torch_topk():
    acts = np.random.default_rng(1).standard_normal((1000, 300)).astype(np.float32)
    indices, values = top_k_per_column(acts, 5, block=64)
    expected = torch.topk(torch.from_numpy(acts), 5, dim=0)
    assert np.array_equal(indices, expected.indices.numpy().T)
    assert np.array_equal(values, expected.values.numpy().T)


def test_ties_keep_the_lower_row_first():
    acts = np.array([[1, 0], [3, 0], [3, 0], [2, 0], [3, 0]], dtype=np.float32)
    indices, values = top_k_per_column(acts, 2)
    assert indices.tolist() == [[1, 2], [0, 1]]  # unit 1 is all ties: rows 0 and 1
    assert values.tolist() == [[3, 3], [0, 0]]


def test_neuron_top_images_ranked_with_k_from_study(tmp_path):
    make_probe_set(tmp_path, 6)
    study = make_study(k=3)
    acts = torch.tensor([[0.1, 5], [0.9, 5], [0.5, 1], [0.9, 5], [0.2, 0], [0.7, 2]])
    torch.save(acts, tmp_path / "acts.pt")
    do_import_activations(study, "probe", "layer4", tmp_path / "acts.pt")
    f = np.float32
    assert top_images(study, "layer4", 0) == [(1, float(f(0.9))), (3, float(f(0.9))),
                                               (5, float(f(0.7)))]  # fmt: skip
    assert top_images(study, "layer4", 1) == [(0, 5.0), (1, 5.0), (3, 5.0)]
    assert study.neurons.get(unit=0).images.filter(rank__gt=3).count() == 0


def test_one_picture_at_two_rows_shown_once(tmp_path):
    folder = tmp_path / "probe" / "c"
    folder.mkdir(parents=True)
    for i, seed in enumerate([1, 2, 1, 3]):  # rows 0 and 2 are the same picture
        (folder / f"{i}.png").write_bytes(png_bytes(seed=seed))
    do_import_probe_set("probe", [tmp_path / "probe"])
    study = make_study(k=2)
    torch.save(torch.tensor([[9.0], [1.0], [9.0], [5.0]]), tmp_path / "acts.pt")
    do_import_activations(study, "probe", "l", tmp_path / "acts.pt")
    assert [a for _, a in top_images(study, "l", 0)] == [9.0, 5.0]


def test_many_repeats_of_one_picture_still_give_k_images(tmp_path):
    folder = tmp_path / "probe" / "c"
    folder.mkdir(parents=True)
    for i in range(30):  # rows 0..27 one picture, rows 28 and 29 two others
        (folder / f"{i:02d}.png").write_bytes(png_bytes(seed=0 if i < 28 else i))
    do_import_probe_set("probe", [tmp_path / "probe"])
    study = make_study(k=3)
    acts = torch.cat([torch.full((28, 1), 9.0), torch.tensor([[1.0], [2.0]])])
    torch.save(acts, tmp_path / "acts.pt")
    do_import_activations(study, "probe", "l", tmp_path / "acts.pt")
    assert top_images(study, "l", 0) == [(0, 9.0), (29, 2.0), (28, 1.0)]
