"""A CASA parallel task under `--casa`: casatasks' ParallelTaskHelper sees MPI enabled and sends
one job per sub-MS of a Multi-MS to the servers, and the merged result is the serial run's.

The script below is what a casampi user runs unchanged; it reads, from the native client under
casampi's adapter, which server ran each sub-MS job. Only the summary is compared: manual
flagging returns {} per sub-MS in parallel and True serially (ParallelTaskHelper's `{} or True`).
"""
from __future__ import annotations

import json
import shutil

import pytest

from mpi_helpers import run_mpiexec, run_python, script_file

pytestmark = pytest.mark.timeout(400)

SCRIPT = """
    import json, sys
    from casatasks import flagdata
    from casampi.MPICommandClient import MPICommandClient
    from core.casampi.requests import REQUEST_NAME

    vis = sys.argv[1]
    flagdata(vis=vis, mode="manual", antenna="DA01", flagbackup=False)
    summary = flagdata(vis=vis, mode="summary")
    jobs = []
    for record in MPICommandClient().native.commands:
        if isinstance(record.parameters, dict) and REQUEST_NAME in record.parameters:
            command, _, parameters = record.parameters[REQUEST_NAME]
            if command == "flagdata()":
                jobs.append([parameters["mode"], parameters["vis"], record.server, record.response["successful"]])
    print(json.dumps({"summary": summary, "jobs": jobs}, default=str))
"""


def flag_and_summarise(vis: str) -> dict:
    """What the script does, serially in this process (which has no casampi)."""
    from casatasks import flagdata
    flagdata(vis=vis, mode="manual", antenna="DA01", flagbackup=False)
    return json.loads(json.dumps(flagdata(vis=vis, mode="summary"), default=str))


@pytest.fixture(scope="module")
def serial_summary(small_mms, tmp_path_factory) -> dict:
    vis = tmp_path_factory.mktemp("serial") / small_mms.name
    shutil.copytree(small_mms, vis)
    return flag_and_summarise(str(vis))


def sub_ms_names(mms) -> list[str]:
    return sorted(path.name for path in (mms / "SUBMSS").iterdir())


@pytest.mark.parametrize("launch", ["spawn", "mpiexec"])
def test_flagdata_over_a_multi_ms_runs_its_sub_ms_jobs_on_the_servers_as_the_serial_run_does(
        launch, small_mms, casa_config, serial_summary, tmp_path):
    vis = tmp_path / small_mms.name
    shutil.copytree(small_mms, vis)
    script = str(script_file(tmp_path, SCRIPT))
    if launch == "spawn":
        result = run_python("-m", "core", "--casa", script, str(vis), cwd=tmp_path,
                            env={**casa_config, "MPIPANEL_SERVERS": "2"}, timeout=300)
    else:
        result = run_mpiexec(3, "-m", "core", "--casa", script, str(vis), cwd=tmp_path, env=casa_config,
                             timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    parallel = json.loads(result.stdout.strip().splitlines()[-1])

    assert parallel["summary"] == serial_summary
    assert serial_summary["flagged"] > 0 and serial_summary["antenna"]["DA01"]["flagged"] > 0

    sub_ms = sub_ms_names(vis)
    assert len(sub_ms) > 1
    for mode in ("manual", "summary"):
        jobs = [job for job in parallel["jobs"] if job[0] == mode]
        assert sorted(path.rsplit("/", 1)[-1] for _, path, _, _ in jobs) == sub_ms, mode
        assert all(successful for *_, successful in jobs), jobs
    assert len({server for _, _, server, _ in parallel["jobs"]}) >= 2, parallel["jobs"]
