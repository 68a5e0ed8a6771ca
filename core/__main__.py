"""Run a Python program as the client of an mpipanel MPI session, or a session on its own.

    mpiexec -n N python -m core [--casa] script.py [arg ...]   (also: -m module, -c code)
    python -m core --serve [--servers K]                       a session waiting for frontends
    python -m core --sessions                                  the sessions to attach to
    python -m core --bridge [SESSION_ID]                       a frontend over ssh, to a session here

Rank 0 runs the program as `__main__`; ranks 1..N-1 serve its commands until it stops them, then
exit. An exception in the program stops the servers and exits non-zero, so nothing hangs.
Run without mpiexec, the program's client spawns its servers itself. `--casa` runs a program
written for CASA's casampi unchanged: `import casampi...` is mpipanel's (`core.casampi`) in
every process of the job. `--serve` and `--listen` make sessions that windows and programs of
other processes attach to (`core.frontends.headless`, docs/sessions.md); `--bridge` is what a
frontend on another machine runs here through ssh to reach one (`core.frontends.bridge`).
"""
from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field

USAGE = """\
usage: {python} -m core [--casa] [--preload FILE_OR_CODE] [--listen [--linger MINUTES]] <pyfile> [arg] ...
   or: {python} -m core [--casa] [--preload FILE_OR_CODE] [--listen [--linger MINUTES]] -m <module> [arg] ...
   or: {python} -m core [--casa] [--preload FILE_OR_CODE] [--listen [--linger MINUTES]] -c <code> [arg] ...
   or: {python} -m core [--casa] [--preload FILE_OR_CODE] --serve [--servers K]
   or: {python} -m core --sessions [--json]
   or: {python} -m core --bridge [SESSION_ID | --log SESSION_LOG]

Under `mpiexec -n N`, rank 0 runs the program and ranks 1..N-1 serve its MPICommandClient.
--casa: the program's `import casampi...` is mpipanel's casampi layer (needs CASA installed).
--preload: code, or a .py file, run in every server's namespace before its first command and
in every fresh one (the default `preload` of the program's MPICommandClient).
--listen: windows and programs can attach to the session of the program's first client
(`mpipanel --attach ID`, `core.attach(ID)`); its servers stop when the program ends, or
--linger MINUTES after it, unless a frontend stops the session first.
--serve: a session with no program: K spawned servers (under mpiexec, the world's), waiting for
frontends until one of them stops it, or SIGTERM or SIGINT does (under mpiexec, to rank 0, whose
pid it prints with its id: mpiexec would signal every rank).
--sessions: this user's sessions on this machine, one line each, starting with its id (--json:
for programs); the files of sessions that are gone are removed.
--bridge: what a frontend on another machine runs here through ssh (`mpipanel --attach
ssh://HOST/SESSION_ID`): the frontend protocol on stdin and stdout, to the session's socket
(with no SESSION_ID: the only session running here); --log: the text of a session log."""


@dataclass
class Options:
    casa: bool = False
    preload: str | None = None
    listen: bool = False
    linger: str | None = None
    serve: bool = False
    servers: str | None = None
    sessions: bool = False
    json: bool = False
    bridge: bool = False
    log: str | None = None
    program: list[str] = field(default_factory=list)


OPTIONS = {"--casa": False, "--preload": True, "--listen": False, "--linger": True, "--serve": False,
           "--servers": True, "--sessions": False, "--json": False, "--bridge": False, "--log": True}
"""The launcher's options, and whether each takes a value. They come before the program; what
follows the program's name is the program's."""

NEEDS = {"linger": "listen", "servers": "serve", "json": "sessions", "log": "bridge"}
"""An option that means something only with another."""


def _usage(error: str | None = None) -> None:
    text = USAGE.format(python=os.path.basename(sys.executable))
    if error:
        print(f"error: {error}\n{text}", file=sys.stderr)
        raise SystemExit(2)
    print(text)
    raise SystemExit(0)


def _parse(args: list[str]) -> tuple[Options, str | None]:
    """The options and the program; and what is wrong with them, if anything (reported by rank 0)."""
    options = Options()
    while args and args[0] in OPTIONS:
        name, takes_value = args[0], OPTIONS[args[0]]
        if takes_value and len(args) < 2:
            return options, f"option {name} needs an argument"
        setattr(options, name[2:], args[1] if takes_value else True)
        args = args[2 if takes_value else 1:]
    options.program = args
    for option, needed in NEEDS.items():
        if getattr(options, option) and not getattr(options, needed):
            return options, f"option --{option} goes with --{needed}"
    return options, None


def _check(options: Options) -> None:
    """Refuse, with the usage, what cannot run; fine for rank 0's `try`, which releases the servers."""
    args = options.program
    if args[:1] in (["-h"], ["--help"]):
        _usage()
    if options.bridge:
        if len(args) > 1 or (args and options.log):
            _usage(f"--bridge takes one session id or --log SESSION_LOG, not {' '.join(args)}")
        return
    if options.sessions or options.serve:
        mode = "--sessions" if options.sessions else "--serve"
        if args:
            _usage(f"{mode} runs no program, but got {args[0]}")
        if options.serve and options.listen:
            _usage("--serve and --listen: a session runs a program (--listen) or none (--serve)")
        _check_positive(options.servers, "--servers", int)
        return
    _check_positive(options.linger, "--linger", float)
    if not args:
        _usage("no program given")
    if args[0] in ("-m", "-c"):
        if len(args) < 2:
            _usage(f"option {args[0]} needs an argument")
        if args[0] == "-m" and not _module_exists(args[1]):
            _usage(f"no module named {args[1]}")
    elif args[0].startswith("-"):
        _usage(f"unknown option {args[0]}")
    elif not os.path.exists(args[0]):
        _usage(f"no such file: {args[0]}")


def _check_positive(value: str | None, option: str, kind: type) -> None:
    if value is None:
        return
    try:
        number = kind(value)
    except ValueError:
        number = 0
    if not number > 0:
        _usage(f"option {option} takes a positive {'whole number' if kind is int else 'number'}, not {value!r}")


def _add_preload(preload: str | None) -> None:
    """Make `--preload` the default preload of the program's clients."""
    if preload is None:
        return
    from core.client.validation import check_preload
    from core.environment import SERVER_PRELOADS
    try:
        code = check_preload(preload)
    except (ValueError, TypeError) as exc:
        _usage(str(exc))
    SERVER_PRELOADS.add(code)


def lone_slurm_task(world_size: int) -> str | None:
    """What is wrong when srun started several tasks but MPI made each a world of its own (no
    PMI between them: `srun` without `--mpi=pmi2`), or None. Each would run the program and spawn
    servers of its own, and the spawn would wait forever for a job step the allocation cannot give
    ("step creation temporarily disabled")."""
    tasks = os.environ.get("SLURM_STEP_NUM_TASKS", "")
    if world_size > 1 or not tasks.isdigit() or int(tasks) <= 1:
        return None
    return (f"srun started {tasks} tasks, but each is an MPI world of 1 (MPI did not get Slurm's process "
            f"manager): run `srun --mpi=pmi2 ...`, or `mpiexec -n {tasks} ...` inside the allocation")


def _module_exists(name: str) -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package that is missing
        return False


def _run_program(args: list[str]) -> None:
    import runpy
    sys.argv[:] = args
    if args[0] == "-c":
        code = sys.argv.pop(1)
        sys.argv[0] = "-c"
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
    elif args[0] == "-m":
        del sys.argv[0]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.realpath(args[0])))  # as `python script.py` does
        runpy.run_path(args[0], run_name="__main__")


def main() -> int:
    code = _main(sys.argv[1:])
    from core import finalize_guard
    finalize_guard.set_exit_code(code)
    return code


def _main(args: list[str]) -> int:
    options, error = _parse(args)
    if options.sessions and error is None:
        from core.frontends.headless import list_sessions
        _check(options)  # before MPI: listing sessions needs none
        return list_sessions(options.json)
    if options.bridge and error is None:
        from core.frontends import bridge
        _check(options)  # before MPI: a bridge on a login node must not start it
        return bridge.main(options.program[0] if options.program else None, options.log)
    if options.casa:
        from core.casampi import switch
        switch.install()  # before MPI starts: spawned servers and workers inherit the switch
    from core.environment import MPIEnvironment
    lone = lone_slurm_task(MPIEnvironment.mpi_world_size)
    if lone is not None:
        if os.environ.get("SLURM_PROCID", "0") == "0":
            print(f"error: {lone}", file=sys.stderr)
        return 2
    if not MPIEnvironment.is_mpi_client:
        from core.server.rank import main as serve
        serve()
        return 0
    from core.client.command_client import stop_everything
    try:
        if error is not None:
            _usage(error)
        _check(options)
        _add_preload(options.preload)
        if options.casa and (problem := switch.missing_casa()):
            _usage(problem)
        if options.casa:
            switch.set_up_servers(os.getcwd())
            from core.casampi import early_start
            early_start.install()
        if options.serve:
            from core.frontends.headless import serve
            code = serve(int(options.servers) if options.servers else None)
        else:
            code = _program_status(options)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # noqa: BLE001 - report, release the servers, exit non-zero
        traceback.print_exc()
        code = 1
    stop_everything(force=code != 0)
    return code


def _program_status(options: Options) -> int:
    """Run the program (a session frontends can attach to, with --listen); its exit status."""
    listening = None
    if options.listen:
        from core.frontends.headless import Listening
        listening = Listening(" ".join(options.program), float(options.linger) if options.linger else None)
    try:
        _run_program(options.program)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # noqa: BLE001 - report, then end the session as the program failed
        traceback.print_exc()
        code = 1
    if listening is not None:
        listening.program_ended(code)
    return code


def _exit_code(exc: SystemExit) -> int:
    """What the interpreter would exit with (printing a message it was given)."""
    if exc.code is not None and not isinstance(exc.code, int):
        print(exc.code, file=sys.stderr)
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
