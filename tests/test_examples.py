"""The examples run headless in both launch modes and print the right results."""
from __future__ import annotations

import re

import pytest

from mpi_helpers import REPO, run_mpiexec, run_python

EXAMPLES = REPO / "examples"


def _run(launch: str, example: str, directory):
    env = {"MPIPANEL_SERVERS": "2", "MPIPANEL_STATE_DIR": str(directory / "state")}
    script = str(EXAMPLES / example)
    result = (run_python(script, str(directory), env=env) if launch == "python"
              else run_mpiexec(3, "-m", "core", script, str(directory), env=env))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("launch", ["python", "mpiexec"])
def test_fan_out_example_calibrates_every_file_on_any_server(tmp_path, launch):
    out = _run(launch, "fan_out_files.py", tmp_path)
    means = {name: float(mean) for name, mean in re.findall(r"(X\d+)\.npy: 4 channels, mean (-?[\d.]+)", out)}
    assert means == pytest.approx({f"X{50 + i}": float(i) for i in range(6)}, abs=0.01)
    assert "6 files calibrated on" in out
    assert len(list(tmp_path.glob("*.cal.npy"))) == 6


@pytest.mark.parametrize("launch", ["python", "mpiexec"])
def test_median_filter_example_keeps_state_per_server_and_removes_the_spikes(tmp_path, launch):
    out = _run(launch, "median_filter_state.py", tmp_path)
    assert re.search(r"server 1: x54\.npy max 2\d\.\d -> 1\.\d+, spikes left 0, written back: True", out)
    assert re.search(r"server 2: x220\.npy max 2\d\.\d -> 1\.\d+, spikes left 0, written back: True", out)
