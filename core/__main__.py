"""Run a Python program as the client of an mpipanel MPI session.

    mpiexec -n N python -m core [--casa] script.py [arg ...]   (also: -m module, -c code)

Rank 0 runs the program as `__main__`; ranks 1..N-1 serve its commands until it stops them, then
exit. An exception in the program stops the servers and exits non-zero, so nothing hangs.
Run without mpiexec, the program's client spawns its servers itself. `--casa` runs a program
written for CASA's casampi unchanged: `import casampi...` is mpipanel's (`core.casampi`) in
every process of the job.
"""
from __future__ import annotations

import os
import sys
import traceback

USAGE = """\
usage: {python} -m core [--casa] [--preload FILE_OR_CODE] <pyfile> [arg] ...
   or: {python} -m core [--casa] [--preload FILE_OR_CODE] -m <module> [arg] ...
   or: {python} -m core [--casa] [--preload FILE_OR_CODE] -c <code> [arg] ...

Under `mpiexec -n N`, rank 0 runs the program and ranks 1..N-1 serve its MPICommandClient.
--casa: the program's `import casampi...` is mpipanel's casampi layer (needs CASA installed).
--preload: code, or a .py file, run in every server's namespace before its first command and
in every fresh one (the default `preload` of the program's MPICommandClient)."""


def _usage(error: str | None = None) -> None:
    text = USAGE.format(python=os.path.basename(sys.executable))
    if error:
        print(f"error: {error}\n{text}", file=sys.stderr)
        raise SystemExit(2)
    print(text)
    raise SystemExit(0)


def _check(args: list[str]) -> None:
    if not args:
        _usage("no program given")
    if args[0] in ("-h", "--help"):
        _usage()
    if args[0] in ("-m", "-c"):
        if len(args) < 2:
            _usage(f"option {args[0]} needs an argument")
        if args[0] == "-m" and not _module_exists(args[1]):
            _usage(f"no module named {args[1]}")
    elif args[0].startswith("-"):
        _usage(f"unknown option {args[0]}")
    elif not os.path.exists(args[0]):
        _usage(f"no such file: {args[0]}")


def _take_preload(args: list[str]) -> list[str]:
    """Strip a leading `--preload VALUE` and make it the default preload of the program's clients."""
    if args[:1] != ["--preload"]:
        return args
    if len(args) < 2:
        _usage("option --preload needs an argument")
    from core.client.validation import check_preload
    from core.environment import SERVER_PRELOADS
    try:
        code = check_preload(args[1])
    except (ValueError, TypeError) as exc:
        _usage(str(exc))
    SERVER_PRELOADS.add(code)
    return args[2:]


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
    casa = args[:1] == ["--casa"]
    if casa:
        args = args[1:]
        from core.casampi import switch
        switch.install()  # before MPI starts: spawned servers and workers inherit the switch
    from core.environment import MPIEnvironment
    if not MPIEnvironment.is_mpi_client:
        from core.server.rank import main as serve
        serve()
        return 0
    from core.client.command_client import stop_everything
    try:
        args = _take_preload(args)
        _check(args)
        if casa and (problem := switch.missing_casa()):
            _usage(problem)
        if casa:
            switch.set_up_servers(os.getcwd())
            from core.casampi import early_start
            early_start.install()
        _run_program(args)
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)  # as the interpreter would
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        stop_everything(force=code != 0)
        return code
    except BaseException:  # noqa: BLE001 - report, release the servers, exit non-zero
        traceback.print_exc()
        stop_everything(force=True)
        return 1
    stop_everything(force=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
