"""Helpers for tests that run real Jupyter kernels on this tree: notebooks executed end to end by
nbclient, and kernels driven message by message with jupyter_client."""
from __future__ import annotations

import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field

from mpi_helpers import REPO

CELL_TIMEOUT = 180

WAIT_FOR_FILE = """\
%%px --targets 1
import os, time
print('waiting', flush=True)
deadline = time.time() + 60
while not os.path.exists({path!r}):
    if time.time() > deadline:
        raise TimeoutError('the notebook never saw the output')
    time.sleep(0.05)
'went'
"""
"""A cell that ends only once the notebook has shown its first line: format it with `path`, and
run it with `on_message=touch_once_shown(path)`."""
LOOPING = "%%px\nimport time\nprint('running', flush=True)\nwhile True:\n    time.sleep(0.01)"
"""A cell that runs until it is interrupted, once it has printed `running` on each server."""
FLOOD = "%%px\nfor i in range(25_000):\n    print('line', i)"
"""100,000 lines from 4 servers."""


def kernel_environment(state_dir, **variables: str) -> dict[str, str]:
    """The test run's environment (its MPIPANEL_TEST_RUN tag reaches the servers through the
    kernel), this tree on the path, a session log of the test's own, and `variables`."""
    return {**os.environ, "PYTHONPATH": str(REPO), "MPIPANEL_STATE_DIR": str(state_dir), **variables}


def run_notebook(sources: list[str], state_dir, allow_errors: bool = True):
    """Execute a notebook of these code cells in a fresh kernel; the executed notebook."""
    import nbformat
    from nbclient import NotebookClient
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    NotebookClient(notebook, timeout=CELL_TIMEOUT, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(state_dir)}}).execute(env=kernel_environment(state_dir))
    return notebook


def text_of(cell, name: str | None = None) -> str:
    """All stream text of an executed cell (of one stream, if named)."""
    return "".join(output["text"] for output in cell.outputs
                   if output["output_type"] == "stream" and name in (None, output["name"]))


def plain_of(cell) -> list[str]:
    """The text/plain of each display of an executed cell."""
    return [output["data"]["text/plain"] for output in cell.outputs
            if output["output_type"] in ("display_data", "execute_result") and "text/plain" in output["data"]]


def error_of(cell):
    return next((output for output in cell.outputs if output["output_type"] == "error"), None)


@dataclass
class CellReply:
    """What a cell sent while it ran, in order: iopub message contents by type."""

    messages: list[tuple[str, dict]] = field(default_factory=list)
    status: str | None = None

    def streams(self, name: str | None = None) -> str:
        return "".join(c["text"] for t, c in self.messages if t == "stream" and name in (None, c["name"]))

    @property
    def error(self) -> dict | None:
        return next((c for t, c in self.messages if t == "error"), None)


def touch_once_shown(path):
    """An `on_message` for `Kernel.run` of `WAIT_FOR_FILE`: touches `path` once the cell's first
    line reached the notebook, which lets the command end."""
    def answer(kind: str, content: dict) -> None:
        if kind == "stream" and "[stdout:1] waiting\n" in content["text"]:
            path.touch()

    return answer


def interrupt_once_running(kernel: Kernel, servers: list[int], seen: list[str]):
    """An `on_message` for `Kernel.run` of `LOOPING`: Kernel > Interrupt (SIGINT to the kernel's
    process group) once every server printed 'running'; `seen` gets the stream texts, then
    'interrupted'."""
    def interrupt(kind: str, content: dict) -> None:
        if kind != "stream":
            return
        seen.append(content["text"])
        text = "".join(seen)
        if all(f"[stdout:{server}] running" in text for server in servers) and "interrupted" not in seen:
            seen.append("interrupted")
            kernel.manager.interrupt_kernel()

    return interrupt


class Kernel:
    """A kernel driven message by message."""

    def __init__(self, state_dir, **variables: str):
        from jupyter_client.manager import start_new_kernel
        self.manager, self.client = start_new_kernel(env=kernel_environment(state_dir, **variables))

    def run(self, code: str, on_message=None, timeout: float = CELL_TIMEOUT) -> CellReply:
        """Run a cell and wait until the kernel is idle again; `on_message(type, content)` sees
        every output message as it comes."""
        return self.reply(self.client.execute(code), on_message, timeout)

    def reply(self, msg_id: str, on_message=None, timeout: float = CELL_TIMEOUT) -> CellReply:
        """What the cell `msg_id` (`client.execute(code)`'s) sent, once the kernel is idle again."""
        reply = CellReply()
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(self.client.get_iopub_msg, deadline)
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "status":
                if content["execution_state"] == "idle":
                    break
                continue
            reply.messages.append((kind, content))
            if on_message is not None:
                on_message(kind, content)
        while reply.status is None:
            answer = self._next(self.client.get_shell_msg, deadline)
            if answer["parent_header"].get("msg_id") == msg_id:
                reply.status = answer["content"]["status"]
        return reply

    def _next(self, get, deadline: float) -> dict:
        """The next message of a channel; fails at once when the kernel has died."""
        while True:
            try:
                return get(timeout=1.0)
            except queue.Empty:
                if not self.manager.is_alive():
                    raise RuntimeError("the kernel died") from None
                if time.monotonic() > deadline:
                    raise

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


def flood_is_capped_and_the_kernel_responsive(kernel: Kernel) -> None:
    """Run `FLOOD` on the kernel's 4 servers, asking the kernel for its info over the control channel
    (which it answers while a cell runs) all along: the cell's output is capped at 2,000 lines and
    says how many it dropped, and no answer took a second."""
    latencies: list[float] = []
    flooding = threading.Event()
    done = threading.Event()

    def ask_kernel_info() -> None:
        flooding.wait(120)
        while not done.is_set():
            asked = time.monotonic()
            kernel.client.control_channel.send(kernel.client.session.msg("kernel_info_request"))
            kernel.client.get_control_msg(timeout=10)
            latencies.append(time.monotonic() - asked)
            done.wait(0.1)

    prober = threading.Thread(target=ask_kernel_info)
    prober.start()
    try:
        reply = kernel.run(FLOOD, lambda kind, content: flooding.set())
    finally:
        done.set()
        prober.join()
    stdout = reply.streams("stdout")
    assert len(stdout.splitlines()) == 2000 and re.match(r"\[stdout:\d\] line \d+$", stdout.splitlines()[-1])
    assert "[output cut: 98,000 more lines" in reply.streams("stderr")
    assert latencies and max(latencies) < 1.0, latencies
    asked = time.monotonic()
    kernel.client.kernel_info(reply=True, timeout=10)
    assert time.monotonic() - asked < 1.0
