"""A pipeline to watch from your desktop while it runs as a batch job (docs/cluster.md).

It processes CHUNKS chunks on whatever servers the job gives it (one rank per server: the job's
tasks but rank 0), each chunk printing a line as it ends, then prints the total. Nothing in it knows
about frontends: `python -m core --listen` makes its session one that a window or a program can
attach to, as `srun.sbatch` and `mpiexec.sbatch` run it:

    srun --mpi=pmi2 python -m core --listen --linger 10 pipeline.py [CHUNKS [SECONDS_PER_CHUNK]]
"""
from __future__ import annotations

import sys

from core import MPICommandClient

TASK = """
import time

def process(chunk, seconds):
    time.sleep(seconds)
    value = sum(i * i for i in range(chunk * 1000, (chunk + 1) * 1000))
    print(f"chunk {chunk} done: {value}")
    return value
"""


def main(chunks: int, seconds: float) -> None:
    client = MPICommandClient()
    client.start_services()
    servers = client.server_ranks()
    client.push_command_request(TASK, block=True, target_server=servers)
    ids = [command_id for chunk in range(chunks)
           for command_id in client.push_command_request("process(chunk, seconds)",
                                                         parameters={"chunk": chunk, "seconds": seconds})]
    responses = client.get_command_response(ids, block=True)
    failed = [response["id"] for response in responses if not response["successful"]]
    total = sum(response["ret"] for response in responses if response["successful"])
    print(f"pipeline done: {chunks} chunks on {len(servers)} servers, total {total}, failed {failed}", flush=True)
    client.stop_services()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40, float(sys.argv[2]) if len(sys.argv) > 2 else 3.0)
