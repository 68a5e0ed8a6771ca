"""Example 2 of the mpi4casa guide, without CASA: state kept on each server, a median filter.

The guide opens one measurement set per server, reads a cell, filters it with
`scipy.signal.medfilt`, writes it back and closes. Here each server "opens" its own generated
data file, keeps the array in its namespace between commands (so every command after the first
must go to the same server: `target_server` is given), filters it with a NumPy median filter and
writes the result back. Only the last command blocks: the servers run each one's commands in the
order they were sent (FIFO).

    python examples/median_filter_state.py [DIR]              (spawns servers)
    mpiexec -n 3 python -m core examples/median_filter_state.py [DIR]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from core import MPICommandClient

MEDIAN_FILTER = """
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
def medfilt(a, size=5):
    padded = np.pad(a, size // 2, mode='edge')
    return np.median(sliding_window_view(padded, size), axis=-1)
"""


def make_observations(directory: Path) -> list[Path]:
    """Two noisy signals with spikes (the cells to clean), one per server."""
    rng = np.random.default_rng(7)
    paths = []
    for name in ("x54", "x220"):
        signal = np.sin(np.linspace(0, 8 * np.pi, 2000)) + rng.normal(scale=0.05, size=2000)
        signal[rng.choice(2000, size=40, replace=False)] += 25.0  # spikes a median filter removes
        path = directory / f"{name}.npy"
        np.save(path, signal)
        paths.append(path)
    return paths


def main(directory: Path) -> None:
    first, second = make_observations(directory)
    client = MPICommandClient(print_output=False)
    client.set_log_mode("redirect")
    client.start_services()
    # Open the data: each server its own file; the array stays in that server's namespace.
    client.push_command_request(f"import numpy as np; data = np.load({str(first)!r}); path = {str(first)!r}",
                                target_server=1)
    client.push_command_request(f"import numpy as np; data = np.load({str(second)!r}); path = {str(second)!r}",
                                target_server=2)
    # Apply the median filter on both servers.
    client.push_command_request(MEDIAN_FILTER, target_server=[1, 2])
    client.push_command_request("filt_data = medfilt(data)", target_server=[1, 2])
    # Put the filtered data back, and "close" (report what changed); block on this last one only.
    client.push_command_request("np.save(path, filt_data)", target_server=[1, 2])
    responses = client.push_command_request(
        "{'path': path, 'max_before': float(data.max()), 'max_after': float(filt_data.max()), "
        "'spikes_left': int((filt_data > 2).sum())}", block=True, target_server=[1, 2])
    client.stop_services()
    for response in responses:
        if not response["successful"]:
            print(response["traceback"], file=sys.stderr)
            raise SystemExit(f"server {response['server']} failed")
        ret = response["ret"]
        saved = np.load(ret["path"])
        print(f"server {response['server']}: {Path(ret['path']).name} max {ret['max_before']:.1f} -> "
              f"{ret['max_after']:.2f}, spikes left {ret['spikes_left']}, written back: "
              f"{np.isclose(saved.max(), ret['max_after'])}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
