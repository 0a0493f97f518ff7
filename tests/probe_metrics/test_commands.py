"""manage.py probe_metrics and manage.py metric_sanity: JSON keys and shapes, readable
tables, and bad input refused with the file and the reason."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from evaluation.probe_metrics import METRIC_NAMES, PUBLISHED_PASS, probe_metrics


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def pair(tmp_path):
    rng = np.random.default_rng(0)
    activations = rng.standard_normal((500, 6)).astype(np.float32)
    concepts = rng.random((500, 6)).astype(np.float32)
    np.save(tmp_path / "acts.npy", activations)
    np.save(tmp_path / "concepts.npy", concepts)
    return tmp_path, activations, concepts


def test_probe_metrics_json_has_one_value_per_column(pair):
    folder, activations, concepts = pair
    body = json.loads(
        run(
            "probe_metrics",
            folder / "acts.npy",
            folder / "concepts.npy",
            "--alpha",
            "0.02",
            "--json",
        )
    )
    assert list(body) == ["alpha", "metrics"]
    assert body["alpha"] == 0.02
    assert list(body["metrics"]) == list(METRIC_NAMES)
    expected = probe_metrics(activations, concepts, 0.02)
    for name in METRIC_NAMES:
        assert len(body["metrics"][name]) == 6
        np.testing.assert_allclose(body["metrics"][name], expected[name])


def test_probe_metrics_default_alpha_and_readable_table(pair):
    folder, _, _ = pair
    body = json.loads(run("probe_metrics", folder / "acts.npy", folder / "concepts.npy", "--json"))
    assert body["alpha"] == 0.005
    table = run("probe_metrics", folder / "acts.npy", folder / "concepts.npy")
    assert "500 images, 6 columns, alpha 0.005" in table
    lines = table.splitlines()
    assert lines[2].split()[0] == "mean" and len(lines) == 3 + 6  # every column listed


def _refused(*paths) -> str:
    with pytest.raises(CommandError) as caught:
        run("probe_metrics", *map(str, paths), "--json")
    return str(caught.value)


def test_bad_input_is_refused_with_file_and_reason(pair):
    folder, activations, _ = pair
    acts = folder / "acts.npy"
    assert "no such file" in _refused(acts, folder / "absent.npy")
    assert "absent.npy" in _refused(acts, folder / "absent.npy")

    np.save(folder / "short.npy", activations[:400])
    message = _refused(acts, folder / "short.npy")
    assert "short.npy" in message and "differs" in message

    np.save(folder / "flat.npy", activations[:, 0])
    assert "flat.npy: must be 2-D" in _refused(folder / "flat.npy", acts)

    (folder / "table.csv").write_text("1,2\n3,4\n")
    assert "table.csv: not an .npy file" in _refused(acts, folder / "table.csv")
    (folder / "fake.npy").write_text("not numpy")
    assert "fake.npy: not a readable .npy array" in _refused(acts, folder / "fake.npy")

    broken = activations.copy()
    broken[7, 3] = np.nan
    np.save(folder / "nan.npy", broken)
    message = _refused(folder / "nan.npy", folder / "concepts.npy")
    assert "nan.npy" in message and "image 7, column 3" in message

    with pytest.raises(CommandError, match="alpha"):
        run("probe_metrics", str(acts), str(acts), "--alpha", "0")


def test_metric_sanity_json_reproduces_the_published_pass_column():
    rows = json.loads(run("metric_sanity", "--json", "--seed", "3"))
    assert [r["metric"] for r in rows] == list(METRIC_NAMES)
    for r in rows:
        assert list(r) == [
            "metric",
            "missing_labels_pass",
            "extra_labels_pass",
            "missing_labels_share",
            "extra_labels_share",
        ]
        assert (r["missing_labels_pass"], r["extra_labels_pass"]) == PUBLISHED_PASS[r["metric"]]
        assert 0.0 <= r["missing_labels_share"] <= 1.0


def test_metric_sanity_table_and_seed():
    table = run("metric_sanity")
    assert "recall" in table and "FAIL" in table
    first = json.loads(run("metric_sanity", "--json", "--seed", "1"))
    assert first == json.loads(run("metric_sanity", "--json", "--seed", "1"))
    other = json.loads(run("metric_sanity", "--json", "--seed", "2"))
    assert [r["missing_labels_share"] for r in first] != [r["missing_labels_share"] for r in other]
