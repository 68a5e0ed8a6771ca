"""Rank 0's client-side worker: `core.worker`'s process, whose client is a proxy of rank 0's.

Started by `core.console.host` as `python -c CODE CHANNEL_FD LIFELINE_FD lend|send`. It runs
commands exactly as a server's worker does (same loop, namespace, output pipes and log frames), and
before the first one installs `core.console.proxy`, so that its code can push commands to the
session's servers without this process ever touching MPI. `run_script` is a builtin there, so
that a script run reads `run_script('pipeline.py', ['x.ms'])` in the history and the session log.
"""
from __future__ import annotations

import builtins
import sys

from core.console import proxy, scripts
from core.console.calls import CallingChannel
from core.wire.worker_channel import FrameChannel
from core.worker import __main__ as worker


def _open_channel(fd: int) -> CallingChannel:
    channel = CallingChannel(FrameChannel(fd))
    proxy.install(channel)
    builtins.run_script = scripts.run_script
    return channel


def main(argv: list[str]) -> None:
    worker.main(argv, open_channel=_open_channel, die_with_parent=False)


if __name__ == "__main__":
    main(sys.argv)
