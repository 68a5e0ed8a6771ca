"""What a session opens to the network: a spawned session listens on loopback only, except for the
two ports of MPICH's launcher that nothing can move (docs/security.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from core.mpi_launcher import LOOPBACK_TRANSPORTS
from mpi_helpers import OPEN_MPI, REPO, script_file

LIST_LISTENERS = """
    import json, os, re, socket
    import psutil
    from core import MPICommandClient

    def listeners(root):
        '''(address, port, owner's command line) of each listening TCP socket of the process tree,
        owned by the oldest process that holds it (children inherit their parents' sockets).'''
        addresses = {}
        for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
            for line in open(table).readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    raw, port = fields[1].split(":")
                    raw = bytes.fromhex(raw)
                    packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                    addresses[fields[9]] = (socket.inet_ntop(family, packed), int(port, 16))
        found = {}
        for process in sorted([root, *root.children(recursive=True)], key=lambda p: p.create_time()):
            for fd in os.listdir(f"/proc/{process.pid}/fd"):
                try:
                    inode = os.readlink(f"/proc/{process.pid}/fd/{fd}")[8:-1]
                except OSError:
                    continue
                if inode in addresses and inode not in found:
                    found[inode] = [*addresses[inode], " ".join(process.cmdline())]
        return list(found.values())

    with MPICommandClient(servers=2, print_output=False, session_log=False) as client:
        client.push_command_request("1", block=True, target_server=[1, 2])
        tree = [psutil.Process(), *psutil.Process().children(recursive=True)]
        commands = [" ".join(p.cmdline()) for p in tree]
        print(json.dumps({"listeners": listeners(psutil.Process()), "commands": commands}))
"""

LOOPBACK = ("127.0.0.1", "::1")


def _launcher_ports(commands: list[str]) -> dict[int, str]:
    """The ports of MPICH's launcher, from its command lines: the singleton's PMI port
    (`mpiexec -pmi_args PORT`) and hydra's control port (`hydra_pmi_proxy --control-port HOST:PORT`)."""
    ports = {}
    for command in commands:
        words = command.split()
        if "-pmi_args" in words:
            ports[int(words[words.index("-pmi_args") + 1])] = "the singleton's PMI port"
        if "--control-port" in words:
            ports[int(words[words.index("--control-port") + 1].rsplit(":", 1)[1])] = "hydra's control port"
    return ports


@pytest.mark.skipif(OPEN_MPI, reason="Open MPI 5.0.11 (measured): its tcp BTL, which a spawned job needs "
                    "(btl=self,vader fails with MPI_ERR_INTERN), listens on every interface in every rank "
                    "whatever btl_tcp_if_include says, and prte's oob_tcp_if_include=lo breaks the spawn")
def test_a_spawned_session_listens_on_loopback_only_but_for_the_launchers_two_ports(tmp_path):
    environment = {name: value for name, value in os.environ.items() if name not in LOOPBACK_TRANSPORTS}
    result = subprocess.run([sys.executable, str(script_file(tmp_path, LIST_LISTENERS))], capture_output=True,
                            text=True, timeout=120, env={**environment, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    launcher = _launcher_ports(report["commands"])
    exposed = [(address, port, owner[:80]) for address, port, owner in report["listeners"]
               if address not in LOOPBACK and port not in launcher]
    assert exposed == []
    assert sorted(launcher.values()) == ["hydra's control port", "the singleton's PMI port"]
    assert all(address == "0.0.0.0" for address, port, _ in report["listeners"] if port in launcher)
