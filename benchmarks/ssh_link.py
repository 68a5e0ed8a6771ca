"""Attaching over ssh for `python -m benchmarks`, beside the session's local socket in the same run.

    python -m benchmarks.ssh_link attach SERVERS COMMANDS REPEATS
        a session with SERVERS spawned servers that ran COMMANDS commands; a program attaches
        REPEATS times through its local socket and REPEATS times over ssh to localhost, in turns:
        the median time from `core.attach` until its replica is built from the snapshot
    python -m benchmarks.ssh_link flood SERVERS SECONDS RATE
        SERVERS servers print RATE numbered lines a second each for SECONDS; a program attached
        through the local socket, then one over ssh, counts the bytes that crossed its link
        (what it read, /proc/self/io) and the lines that came: the feed's output budget bounds
        them, not the flood

ssh to localhost: `$MPIPANEL_BENCH_SSH` (`ssh://HOST`, a host your own ssh reaches without a
prompt, where this tree is at the same path), else the test sshd that `.ci/services sshd` runs on
127.0.0.1:2222 with its throw-away key. Prints one JSON object ({"skipped": why} without either).
"""
from __future__ import annotations

import json
import os
import pwd
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.measurement import REPO, flood_command, measure_main, timed_rounds
from benchmarks.sessions import _end, _program, _session

TURNS = 3
TEST_SSHD = ("127.0.0.1", 2222)
TEST_KEY = ".ssh/mpipanel_test_ed25519"
HOST_KEY = Path("/etc/ssh/ssh_host_ed25519_key.pub")

ATTACH = """
import json, sys, time
import core
target, repeats, options = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
times = []
for _ in range(repeats):
    start = time.perf_counter()
    client = core.attach(target, **options)
    times.append(time.perf_counter() - start)
    commands = client.read(lambda model: len(model.history))
    client.detach()
print(json.dumps({"seconds": times, "commands": commands}))
"""

FLOOD = """
import json, sys, time
import core
from core.events import ServerOutput
target, command, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def read_bytes():
    return int(dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())["rchar"])

counts = {"lines": 0, "dropped": 0}
def count(event):
    if isinstance(event, ServerOutput):
        counts["lines"] += sum(item.text.count("\\n") for item in event.items if hasattr(item, "text"))
        counts["dropped"] += event.dropped

with core.attach(target, **options) as client:
    client.subscribe(count)
    ranks = client.server_ranks()
    before, start = read_bytes(), time.perf_counter()
    client.push_command_request(command, block=True, target_server=ranks)
    elapsed, read = time.perf_counter() - start, read_bytes() - before
    printed = [r["ret"] for r in client.push_command_request("line", block=True, target_server=ranks)]
printed_bytes = sum(len(f"flood line {line}\\n") for count in printed for line in range(count))
print(json.dumps({"bytes_per_s": read / elapsed, "seconds": elapsed, "printed": sum(printed),
                  "printed_bytes_per_s": printed_bytes / elapsed, **counts}))
"""


def _ssh_route(directory: Path) -> tuple[str, dict] | str:
    """How to reach this machine through ssh: the target's start and the attach options; or why not."""
    if os.environ.get("MPIPANEL_BENCH_SSH"):
        return os.environ["MPIPANEL_BENCH_SSH"].rstrip("/"), {}
    key = Path(pwd.getpwuid(os.getuid()).pw_dir) / TEST_KEY
    try:
        socket.create_connection(TEST_SSHD, timeout=2).close()
    except OSError:
        return "no ssh to this machine: set MPIPANEL_BENCH_SSH=ssh://HOST, or run .ci/services sshd (as root)"
    if not key.exists() or not HOST_KEY.exists():
        return f"no test key {key} or host key {HOST_KEY} (.ci/services sshd makes them)"
    known = directory / "known_hosts"
    known.write_text(f"[{TEST_SSHD[0]}]:{TEST_SSHD[1]} {' '.join(HOST_KEY.read_text().split()[:2])}\n")
    config = directory / "ssh_config"
    config.write_text(f"Host bench\n  HostName {TEST_SSHD[0]}\n  Port {TEST_SSHD[1]}\n  IdentityFile {key}\n"
                      f"  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {known}\n"
                      f"  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n")
    return "ssh://bench", {"ssh": ["ssh", "-F", str(config)]}


def _ways(session: str, runtime: str, route: tuple[str, dict]) -> dict[str, tuple[str, dict]]:
    """The local socket and ssh: each a target and its attach options."""
    start, options = route
    python = shlex.join(["env", f"PYTHONPATH={REPO}", f"XDG_RUNTIME_DIR={runtime}", sys.executable])
    return {"local": (session, {}), "ssh": (f"{start}/{session}", {**options, "remote_python": python})}


def _with_session(servers: int, measure) -> dict:
    """`measure(client, ways)` on a listening session of `servers` servers; {"skipped": why} without ssh."""
    with tempfile.TemporaryDirectory(prefix="mpipanel-bench-rt-") as runtime:
        os.environ["XDG_RUNTIME_DIR"] = runtime
        route = _ssh_route(Path(runtime))
        if isinstance(route, str):
            return {"skipped": route}
        client, host, listener = _session(servers)
        try:
            return measure(client, _ways(host.info.session_id, runtime, route))
        finally:
            _end(client, host, listener)


def attach(servers: int, commands: int, repeats: int) -> dict:
    def measure(client, ways) -> dict:
        ranks = client.server_ranks()
        ids = [i for index in range(commands)
               for i in client.push_command_request(f"{index} * 2", target_server=ranks[index % len(ranks)])]
        client.get_command_response(ids, block=True)
        times: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(TURNS):
            for way, (target, options) in ways.items():
                times[way] += _program(ATTACH, target, max(1, repeats // TURNS), json.dumps(options))["seconds"]
        return {**{f"{way}_seconds": statistics.median(spent) for way, spent in times.items()},
                "ssh_max_seconds": max(times["ssh"]), "commands": commands,
                "ssh_true_seconds": _ssh_true_seconds(ways["ssh"])}

    return _with_session(servers, measure)


def _ssh_true_seconds(way: tuple[str, dict]) -> float:
    """The median time `ssh HOST true` takes: what ssh alone costs an attach, on this machine now."""
    target, options = way
    host = target[len("ssh://"):].split("/")[0]
    argv = [*options.get("ssh", ["ssh"]), "-o", "BatchMode=yes", host, "true"]
    return statistics.median(timed_rounds(lambda: subprocess.run(argv, check=True, capture_output=True), TURNS))


def flood(servers: int, seconds: float, rate: int) -> dict:
    def measure(_client, ways) -> dict:
        return {way: _program(FLOOD, target, flood_command(seconds, rate), json.dumps(options))
                for way, (target, options) in ways.items()}

    return _with_session(servers, measure)


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
