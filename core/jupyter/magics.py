"""The notebook's magics: `%mpipanel`, `%px`/`%%px`, `%autopx` and `%pxresult`.

They parse what the user typed and hand over: to `kernel_session` for starting and stopping, to
`cell_run` for a cell's commands; every call on the client goes through `SessionClient`.
"""
from __future__ import annotations

import math
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from core.jupyter import kernel_session
from core.jupyter.autopx import AutoPx
from core.jupyter.cell_display import register_figure_format, status_table
from core.jupyter.cell_run import CellOptions, CellRun
from core.jupyter.px_line import split_px_line
from core.jupyter.session_client import SessionClient
from core.jupyter.targets import TargetsError, parse_targets, resolve_targets
from core.wire.messages import ISOLATION_MODES

GROUPINGS = ("arrival", "server")


@magics_class
class PxMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.session: SessionClient | None = None
        self.last_noblock: CellRun | None = None
        self.autopx = AutoPx(shell)
        register_figure_format(shell)

    # ----- %mpipanel ----------------------------------------------------------------------
    @magic_arguments()
    @argument("action", choices=("start", "stop", "status"),
              help="start: spawn servers, with this kernel as their client; stop: stop them "
                   "(interrupting what runs); status: a table of the servers")
    @argument("-n", "--servers", type=int, metavar="K",
              help="how many servers to start (default: $MPIPANEL_SERVERS, else min(4, CPU count))")
    @argument("--casa", action="store_true",
              help="CASA mode, as `mpipanel --casa`: every server a casampi server; only at the "
                   "kernel's first start, before MPI starts in it")
    @argument("--isolation", choices=ISOLATION_MODES, default="process",
              help="'process' (default): commands run in a worker process per server, so a crash "
                   "costs only that server's namespace; 'none': in the server rank itself")
    @line_magic
    def mpipanel(self, line: str) -> None:
        """Start, stop or show the servers that `%px` cells run on.

        Every command a cell sends is recorded in the session log with origin 'notebook'.
        """
        args = parse_argstring(self.mpipanel, line)
        {"start": self._start, "stop": self._stop, "status": self._status}[args.action](args)

    def _start(self, args) -> None:
        if self.session is not None:
            raise UsageError("%mpipanel start: the servers run already (%mpipanel stop first)")
        if args.servers is not None and args.servers < 1:
            raise UsageError(f"%mpipanel start: -n/--servers needs at least 1 server, not {args.servers}")
        options = kernel_session.StartOptions(args.servers, args.casa, args.isolation)
        try:
            self.session = kernel_session.start(options)
        except (kernel_session.StartRefusedError, ValueError) as exc:
            raise UsageError(f"%mpipanel start: {exc}") from None
        servers = self.session.servers()
        print(f"mpipanel: {len(servers)} server{'s' if len(servers) > 1 else ''} ready "
              f"({', '.join(map(str, servers))}); session log: {self.session.session_log_path}")

    def _stop(self, args) -> None:
        self._require_session("mpipanel stop")
        self.close()
        print("mpipanel: servers stopped")

    def close(self) -> None:
        """End autopx, forget the last non-blocking cell and stop the servers, if any run."""
        self.autopx.turn_off()
        if self.last_noblock is not None:
            self.last_noblock.discard()
            self.last_noblock = None
        session, self.session = self.session, None
        if session is not None:
            kernel_session.stop(session)

    def _status(self, args) -> None:
        from IPython.display import display
        display(status_table(self._require_session("mpipanel status").servers()), raw=True)

    def _require_session(self, action: str) -> SessionClient:
        if self.session is None:
            raise UsageError(f"%{action}: no servers run here: %mpipanel start first")
        return self.session

    # ----- %px, %%px ----------------------------------------------------------------------
    @magic_arguments()
    @argument("-t", "--targets", default="all",
              help="where the cell runs: 'all' (every server, the default), 'first' (the first "
                   "available one), ranks '1,3', a range '1-4', or both '1-2,5'")
    @argument("--noblock", action="store_true",
              help="send and return at once; %%pxresult waits for the results and shows them")
    @argument("--timeout", type=float, metavar="SECONDS",
              help="each command's time limit, held by its server: a command still running then is "
                   "interrupted, status 'expired' (one that ignores the interrupt has its worker killed "
                   "5 s later, and its server loses its namespace)")
    @argument("--group-outputs", choices=GROUPINGS, default="arrival",
              help="'arrival' (default): each line as it comes, tagged [stdout:2], [stderr:1], "
                   "[log:2]; 'server': all of a server's output together, in rank order, at the end")
    @line_cell_magic
    def px(self, line: str, cell: str | None = None) -> None:
        """Run code on the servers: `%px CODE` for one line, `%%px` for a cell.

        Output streams in as it happens, each line tagged with its server: `[stdout:2] text`,
        `[stderr:1] text`, log records as `[log:2] WARNING logger: message`. A cell keeps 2,000
        lines or 200,000 characters of output and says how much more it dropped. A cell sent to
        several servers shows a progress line (n of m servers done) once it runs for a second.

        As in IPython, a cell whose last statement is an expression shows that expression's
        value, per server, as `Out[server:count]`, with its rich display (arrays, tables, figures);
        a trailing `;` shows nothing.

        A command that fails shows its server's traceback cut to the frame that failed, and the
        cell raises PxCellError naming the servers, so that "run all" stops there. Kernel >
        Interrupt interrupts the cell's commands on the servers and returns. On `%px` put the
        options before the code (`%px --targets 1 x = 1`); code starting with `-` follows `--`.
        """
        session = self._require_session("px")
        options_text, code = (line, cell) if cell is not None else split_px_line(line)
        args = parse_argstring(self.px, options_text)
        if not code.strip():
            raise UsageError("%px: no code to run")
        if args.timeout is not None and not 0 < args.timeout < math.inf:
            raise UsageError(f"%px: --timeout must be a positive number of seconds, not {args.timeout:g}")
        try:
            statuses = session.servers()
            target = resolve_targets(parse_targets(args.targets),
                                     {rank: status["state"] != "lost" for rank, status in statuses.items()})
        except TargetsError as exc:
            raise UsageError(f"%px: {exc}") from None
        options = CellOptions(target, not args.noblock, args.timeout, args.group_outputs)
        try:
            run = CellRun(session, code, options, self.shell.execution_count)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise UsageError(f"%px: {exc}") from None
        if options.block:
            run.show(self.shell, _streams())
            return
        if self.last_noblock is not None:
            self.last_noblock.discard()
        self.last_noblock = run
        print(f"%px: {run.describe()}; %pxresult waits for them and shows their output and values")

    @line_magic
    def pxresult(self, line: str) -> None:
        """Wait for the last `%px --noblock` cell's commands and show their output and values
        (failures raise PxCellError, as a blocking cell's do)."""
        if self.last_noblock is None:
            raise UsageError("%pxresult: no %px --noblock cell has run since the servers started")
        self.last_noblock.show(self.shell, _streams())

    @line_magic
    def autopx(self, line: str) -> None:
        """Toggle: every cell runs on the servers, as `%%px` would run it, until `%autopx` again.
        Options given here (`%autopx --targets 1-2`) apply to every such cell. Cells that start
        with `%autopx`, `%mpipanel` or `%px...` still run in the kernel."""
        if self.autopx.on:
            self.autopx.turn_off()
            print("%autopx off: cells run in the kernel again")
            return
        session = self._require_session("autopx")
        parse_argstring(self.px, line)  # refuse bad options now, not at every cell
        self.autopx.turn_on(line)
        print(f"%autopx on: every cell now runs on the servers ({', '.join(map(str, session.servers()))}); "
              f"%autopx again turns it off")


def _streams() -> dict:
    return {"stdout": sys.stdout, "stderr": sys.stderr}
