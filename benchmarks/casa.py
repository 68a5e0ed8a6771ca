"""CASA's parallel flagdata for `python -m benchmarks`: mpipanel's casampi layer (`--casa`) against
the real casampi 0.6.0, the same program over the same Multi-MS, 2 servers each.

    python -m benchmarks.casa data DIRECTORY SUB_MS
        a private offline CASA config in DIRECTORY, the simulated MS (8 scans x 2 spws) and a
        Multi-MS of SUB_MS sub-MSs (serially: partition must not run under MPI)
    python -m benchmarks.casa job mpipanel|casampi DIRECTORY SUB_MS
        `mpiexec -n 3` of the program below over a fresh copy of that Multi-MS: under
        `python -m core --casa`, or with the casampi wheel (fetched into DIRECTORY by the first
        such job with `pip download`, put on PYTHONPATH for these jobs only, never installed);
        the program's figures plus the job's wall time from mpiexec's start to its exit
    python -m benchmarks.casa flag VIS
        the program: flagdata manual, clip and summary over VIS; casatasks' ParallelTaskHelper
        sends one job per sub-MS of each call to the servers. The time of the
        calls runs from the first call (which starts the client's services) to the summary.

casampi starts MPI only where `OMPI_COMM_WORLD_RANK` is set, which Open MPI's launcher does and
MPICH's does not, so under MPICH each rank is given its own as a separate block of an MPMD
command line. Prints one JSON object.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from benchmarks.measurement import launcher, measure_main, python_path

CASAMPI = "casampi==0.6.0"
RANKS = 3
JOB_TIMEOUT = 600


def _config(directory: Path) -> dict[str, str]:
    from core.casa.offline import private_config
    return private_config(directory / "config")


def _mms(directory: Path, sub_ms: int) -> Path:
    return directory / f"sim_{sub_ms}.mms"


def data(directory: str, sub_ms: int) -> dict:
    from core.casa.offline import make_mms, make_ms, missing_casa
    if missing_casa():
        return {"skipped": f"not measured: {missing_casa()}"}
    directory = Path(directory)
    os.environ.update(_config(directory))
    start = time.perf_counter()
    make_mms(make_ms(directory / "sim.ms"), _mms(directory, sub_ms), sub_ms)
    return {"seconds": time.perf_counter() - start, "sub_ms": len(list((_mms(directory, sub_ms) / "SUBMSS").iterdir()))}


def flag(vis: str) -> dict:
    import casatasks  # under the real casampi, a server rank serves inside this import and exits
    start = time.perf_counter()
    casatasks.flagdata(vis=vis, mode="manual", antenna="DA01", flagbackup=False)
    casatasks.flagdata(vis=vis, mode="clip", clipminmax=[0.0, 2.0], datacolumn="DATA", flagbackup=False)
    summary = casatasks.flagdata(vis=vis, mode="summary")
    return {"calls_s": time.perf_counter() - start, "flagged": summary["flagged"], "total": summary["total"]}


def job(which: str, directory: str, sub_ms: int) -> dict:
    directory = Path(directory)
    run = directory / which
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    vis = run / _mms(directory, sub_ms).name
    shutil.copytree(_mms(directory, sub_ms), vis)
    env = {**os.environ, **_config(directory), "MPIPANEL_STATE_DIR": str(run / "state")}
    program = ["-m", "benchmarks.casa", "flag", str(vis)]
    if which == "mpipanel":
        env["PYTHONPATH"] = python_path()
        command = [launcher(), "-n", str(RANKS), sys.executable, "-m", "core", "--casa", *program]
    else:
        casampi = _fetch_casampi(directory)
        if isinstance(casampi, dict):
            return casampi
        env["PYTHONPATH"] = os.pathsep.join([str(casampi), python_path()])
        command = _mpmd_with_ranks([sys.executable, *program])
        if isinstance(command, dict):
            return command
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=run, env=env, timeout=JOB_TIMEOUT)
    seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return {**json.loads(lines[-1]), "process_s": seconds}


def _fetch_casampi(directory: Path) -> Path | dict:
    """casampi unpacked from its wheel in `directory` (fetched by the first job that needs it),
    the directory to import it from; or why it is not there."""
    unpacked = directory / "casampi-wheel"
    if (unpacked / "casampi").is_dir():
        return unpacked
    fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", CASAMPI,
                              "-d", str(unpacked)], capture_output=True, text=True, timeout=300)
    wheels = list(unpacked.glob("casampi-*.whl"))
    if fetched.returncode != 0 or not wheels:
        why = (fetched.stderr.strip().splitlines() or ["no wheel"])[-1]
        return {"skipped": f"not measured: {CASAMPI} could not be fetched ({why})"}
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(unpacked)
    return unpacked


def _mpmd_with_ranks(program: list[str]) -> list[str] | dict:
    """`mpiexec -n 1 -env OMPI_COMM_WORLD_RANK 0 PROGRAM : -n 1 -env ... 1 PROGRAM : ...` (MPICH)."""
    from core.mpi_launcher import open_mpi_prefix
    if open_mpi_prefix() is not None:
        return {"skipped": "not measured: the casampi baseline runs under MPICH's mpiexec"}
    command = [launcher()]
    for rank in range(RANKS):
        command += [*([":"] if rank else []), "-n", "1", "-env", "OMPI_COMM_WORLD_RANK", str(rank), *program]
    return command


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
