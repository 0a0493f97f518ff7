"""bench/gpu_check.sh: its CPU smoke run goes the whole GPU code path, so the script cannot
rot unseen; its figures and its refusal to run without what it needs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
gpu_check = pytest.importorskip("gpu_check")


def run_script(script: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.integration
def test_cpu_smoke_rates_both_workloads_and_writes_the_json(tmp_path):
    done = run_script(
        ROOT / "bench/gpu_check.sh", "--cpu-smoke", PYTHON=sys.executable, OUT=str(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["mode"] == "cpu-smoke"
    assert sorted(report["workloads"]) == ["blip2", "openclip"]
    shape = gpu_check.SHAPES["cpu-smoke"]
    for name, figures in report["workloads"].items():
        assert figures["pairs"] == shape["neurons"] * shape["images"], name
        assert figures["pairs_per_second"] > 0
        assert figures["reference_pairs_per_second"] > 0
        assert figures["flops_for_19200_pairs"] > 0
        assert figures["floor_seconds_for_19200_pairs"]["measured_matmul"] > 0
        assert f"{name}: {figures['workload']}" in done.stdout
    assert report["workloads"]["openclip"]["concepts"] == shape["concepts"]
    assert "embed_images" in report["workloads"]["blip2"]["stages"]  # the real rater ran


def test_without_open_clip_and_no_wheel_folder_it_says_how_to_fetch(tmp_path):
    bare = shutil.which("python3.11", path="/usr/bin")
    probe = subprocess.run([bare or "false", "-c", "import open_clip"], capture_output=True)
    if bare is None or probe.returncode == 0:
        pytest.skip("needs a system Python without open_clip")
    (tmp_path / "bench").mkdir()
    for name in ("gpu_check.sh", "gpu_wheels.txt"):
        shutil.copy(ROOT / "bench" / name, tmp_path / "bench" / name)
    done = run_script(tmp_path / "bench/gpu_check.sh", PYTHON=bare)
    assert done.returncode == 1
    assert "missing open_clip_torch==3.3.0" in done.stderr
    assert "bash bench/gpu_check.sh --fetch-wheels" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]  # nothing installed


def test_figures_project_to_19200_pairs_and_divide_flops_by_each_peak():
    figures = gpu_check.figures(
        pairs=9600,
        seconds=10.0,
        reference={"sample_pairs": 10, "sample_seconds": 5.0, "projected_seconds": 100.0},
        flops=10**15,
        peak={"datasheet_tflops": 1000.0, "measured_matmul_tflops": 500.0},
    )
    assert figures["pairs_per_second"] == 960.0
    assert figures["seconds_for_19200_pairs"] == 20.0
    assert figures["reference_pairs_per_second"] == 96.0
    assert figures["reference_seconds_for_19200_pairs"] == 200.0
    assert figures["speedup_vs_reference"] == 10.0
    assert figures["flops_for_19200_pairs"] == 2 * 10**15
    assert figures["floor_seconds_for_19200_pairs"] == {"datasheet": 2.0, "measured_matmul": 4.0}


def test_datasheet_peak_tells_h100_pcie_from_sxm_and_knows_no_cpu():
    assert gpu_check.datasheet_peak("NVIDIA H100 PCIe") == 756.0
    assert gpu_check.datasheet_peak("NVIDIA H100 80GB HBM3") == 989.4
    assert gpu_check.datasheet_peak("NVIDIA A100-SXM4-80GB") == 312.0
    assert gpu_check.datasheet_peak("AMD EPYC") is None
