"""Example 1 of the mpi4casa guide, without CASA: one task per data file, to any free server.

The guide runs `wvrgcal` on several measurement sets; here each "measurement set" is a small
NumPy file this script generates, and the task computes per-channel statistics of it. The tasks
are monolithic and stateless, so `target_server` is left out: each goes to the first available
server. Half carry their arguments inside the command text (the guide's cmd1), half as a separate
`parameters` dict of native values (cmd2).

    python examples/fan_out_files.py [DIR]                    (spawns servers)
    mpiexec -n 3 python -m core examples/fan_out_files.py [DIR]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from core import MPICommandClient

TASK = """
import numpy as np
def channel_stats(vis, caltable, spw):
    data = np.load(vis)[spw]
    np.save(caltable, data.mean(axis=1))
    return {'vis': vis, 'channels': len(spw), 'mean': round(float(data.mean()), 6)}
"""


def make_files(directory: Path, count: int = 6) -> list[Path]:
    """Generate `count` small observations: 8 channels x 1000 samples each, offset by file."""
    rng = np.random.default_rng(2024)
    files = []
    for index in range(count):
        path = directory / f"X{50 + index}.npy"
        np.save(path, rng.normal(loc=index, scale=0.1, size=(8, 1000)))
        files.append(path)
    return files


def main(directory: Path) -> None:
    files = make_files(directory)
    client = MPICommandClient(print_output=False)
    client.set_log_mode("redirect")
    client.start_services()
    # Every server needs the task's code: send it to each one, blocking until all have it.
    client.push_command_request(TASK, block=True, target_server=client.server_ranks())
    ids = []
    for index, path in enumerate(files):
        caltable = str(path.with_suffix(".cal.npy"))
        if index % 2 == 0:  # the arguments inside the command string
            command = f"channel_stats(vis={str(path)!r}, caltable={caltable!r}, spw=[1, 3, 5, 7])"
            ids += client.push_command_request(command, block=False)
        else:               # the same task with a separate parameters dict of native values
            parameters = {"vis": str(path), "caltable": caltable, "spw": [1, 3, 5, 7]}
            ids += client.push_command_request("channel_stats(vis, caltable, spw)", block=False,
                                               parameters=parameters)
    results = client.get_command_response(ids, block=True)
    client.stop_services()
    for response in results:
        if not response["successful"]:
            print(response["traceback"], file=sys.stderr)
            raise SystemExit(f"task {response['id']} failed")
        ret = response["ret"]
        print(f"{Path(ret['vis']).name}: {ret['channels']} channels, mean {ret['mean']:.3f} "
              f"(server {response['server']})")
    print(f"{len(results)} files calibrated on {len({r['server'] for r in results})} server(s)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            main(Path(scratch))
