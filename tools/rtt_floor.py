"""The floor of a tiny command's round trip on this machine: mpipanel's primitives and nothing else.

    mpiexec -n 2 python tools/rtt_floor.py MODE [ROUNDS]      MODE: relay | direct | notify | inline

Rank 0 is the client, rank 1 a server rank that starts a worker process (no MPI in its environment's
way, as `core.supervision.worker_process` starts one). Each round sends `"1"` and waits for its value:

* relay: client -MPI + TCP doorbell byte-> rank -datagram-> worker -stream frame-> rank -MPI + byte->
  client: the path of an isolated command in mpipanel (`core.server.rank`, `core.wire.command_queue`);
* direct: as relay, but the worker answers the client itself, on a Unix socket the client listens on
  (the design of docs/benchmarks.md, "Where the targets are missed"): one hop fewer;
* notify: as direct, and the worker then tells its rank (a frame), which the rank waits for, as a
  supervisor must hear of each command's end;
* inline: the rank evaluates the command itself (isolation 'none').

Everyone waits as mpipanel does: the client spins on `iprobe` (or a non-blocking `recv`) yielding
its core, the rank spins for 2 ms after activity and then sleeps in `epoll` on its doorbell and its
worker's socket, the worker sleeps in `recv`. What mpipanel adds to these figures is its own work
per command in the three processes (docs/benchmarks.md, "A single command's round trip").
"""
from __future__ import annotations

import os
import pickle
import select
import socket
import statistics
import struct
import subprocess
import sys
import time

from mpi4py import MPI

LENGTH = struct.Struct("!Q")
SPIN = 0.002


def frame(value) -> bytes:
    data = pickle.dumps(value, protocol=5)
    return LENGTH.pack(len(data)) + data


def read_frame(sock: socket.socket):
    size = LENGTH.unpack(sock.recv(LENGTH.size, socket.MSG_WAITALL))[0]
    return pickle.loads(sock.recv(size, socket.MSG_WAITALL))


def worker(mode: str, queue_fd: int, channel_fd: int, client_address: str) -> None:
    queue, channel = socket.socket(fileno=queue_fd), socket.socket(fileno=channel_fd)
    client = None
    if mode in ("direct", "notify"):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect("\0" + client_address)  # Linux's abstract namespace
    compiled, namespace, scratch = {}, {}, bytearray(65536)
    while True:
        size = queue.recv_into(scratch)
        command_id, command = pickle.loads(memoryview(scratch)[:size])
        code = compiled.get(command) or compiled.setdefault(command, compile(command, "<command>", "eval"))
        answer = frame((command_id, {"status": "done", "time_end": time.time()}, pickle.dumps(eval(code, namespace))))
        if client is None:
            channel.sendall(answer)
            continue
        client.sendall(answer)
        if mode == "notify":
            channel.sendall(frame((command_id, None, None)))


def server(comm: MPI.Comm, mode: str, doorbell: socket.socket, client_address: str) -> None:
    queue, queue_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    channel, channel_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "HYDRA", "MPI"))}
    child = subprocess.Popen([sys.executable, __file__, mode, "0", "--worker", str(queue_end.fileno()),
                              str(channel_end.fileno()), client_address],
                             pass_fds=(queue_end.fileno(), channel_end.fileno()), env=environment)
    poller = select.epoll()
    poller.register(doorbell.fileno(), select.EPOLLIN)
    status, rung, received = MPI.Status(), 0, 0
    last = time.monotonic()
    while True:
        if time.monotonic() - last < SPIN:
            message = comm.improbe(0, MPI.ANY_TAG, status)
            if message is None:
                os.sched_yield()
                continue
        else:
            poller.poll()
            try:
                rung += len(doorbell.recv(4096, socket.MSG_DONTWAIT))
            except BlockingIOError:
                pass
            # A byte read means its message is on its way: wait for it (see core.wire.transport).
            message = comm.mprobe(0, MPI.ANY_TAG, status) if rung > received else comm.improbe(0, MPI.ANY_TAG, status)
            if message is None:
                continue
        command_id, command = message.recv()
        received += 1
        if command_id is None:
            break
        if mode == "inline":
            comm.send((command_id, {"status": "done"}, pickle.dumps(eval(command))), 0, 1)
            doorbell.sendall(b"\x01")
        else:
            queue.send(pickle.dumps((command_id, command)))
            if mode in ("relay", "notify"):
                select.select([channel], [], [])
                answer = read_frame(channel)
                if mode == "relay":
                    comm.send(answer, 0, 1)
                    doorbell.sendall(b"\x01")
        last = time.monotonic()
    child.kill()


def client(comm: MPI.Comm, mode: str, rounds: int, doorbell: socket.socket, listener: socket.socket | None) -> None:
    comm.barrier()
    direct = listener.accept()[0] if listener is not None else None
    status, times = MPI.Status(), []
    for number in range(rounds):
        start = time.perf_counter()
        comm.send((number, "1"), 1, 1)
        doorbell.sendall(b"\x01")
        while True:
            if direct is not None:
                try:
                    head = direct.recv(LENGTH.size, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    os.sched_yield()
                    continue
                answer = pickle.loads(direct.recv(LENGTH.unpack(head)[0], socket.MSG_WAITALL))
                break
            message = comm.improbe(1, MPI.ANY_TAG, status)
            if message is not None:
                answer = message.recv()
                try:
                    doorbell.recv(4096, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    pass
                break
            os.sched_yield()
        assert answer[0] == number and pickle.loads(answer[2]) == 1
        times.append(time.perf_counter() - start)
    comm.send((None, None), 1, 1)
    doorbell.sendall(b"\x01")
    warm = times[len(times) // 5:]
    fifths = [statistics.mean(warm[i::5]) * 1e6 for i in range(5)]
    print(f"{mode}: round trip {statistics.median(fifths):.1f} µs (fifths {[round(f) for f in fifths]})", flush=True)


def main(argv: list[str]) -> None:
    mode, rounds = argv[1], int(argv[2]) if len(argv) > 2 else 5000
    if "--worker" in argv:
        worker(mode, int(argv[4]), int(argv[5]), argv[6])
        return
    comm = MPI.COMM_WORLD
    if comm.Get_rank() == 0:
        tcp = socket.create_server(("127.0.0.1", 0))
        address = f"mpipanel-rtt-floor-{os.getpid()}"
        listener = None
        if mode in ("direct", "notify"):
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind("\0" + address)
            listener.listen()
        comm.send((tcp.getsockname()[1], address), 1)
        doorbell = tcp.accept()[0]
    else:
        port, address = comm.recv(source=0)
        doorbell = socket.create_connection(("127.0.0.1", port))
    doorbell.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if comm.Get_rank() == 0:
        client(comm, mode, rounds, doorbell, listener)
    else:
        comm.barrier()
        server(comm, mode, doorbell, address)


if __name__ == "__main__":
    main(sys.argv)
