"""The layering the docstrings promise, checked on every run from the source's import statements.

core: wire at the bottom; worker, supervision, server, client and sessions above it; the client and
the server never import each other; the supervision of a worker process (core.supervision) serves
both the server rank and rank 0's client-side worker (core.console), and imports neither; the
workers (a server's, and rank 0's client-side one in core.console) never reach MPI; the console
uses the client it is given, never the client's or the server's modules; the frontends sit on top
(they may use the client and the console; nothing below imports them, and their model needs
neither); nothing imports Qt; no import cycles; only the notebook's package (core.jupyter) imports
IPython, and nothing else imports it.
app: only the launcher makes a client; only the bridge and the launcher build or drive a session;
widgets get data types; only the launcher reaches the adapters (core.casampi, core.casa).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "qasync", "pyqtgraph", "PyQt5", "PyQt6")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code, `if TYPE_CHECKING:` blocks included
    (an import for the type checker alone is still a dependency, and a cycle through one is a
    cycle), except in a package's `__init__`: there such a block names what `__getattr__` loads
    lazily, on first use, which `test_packages_load_only_leaf_modules` covers."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if (path.name == "__init__.py" and isinstance(node, ast.If)
                and getattr(node.test, "id", None) == "TYPE_CHECKING"):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES
            found.update(submodules or {base})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


FILES = [p for top in ("core", "app") for p in sorted((REPO / top).rglob("*.py"))]
MODULES = {_module_name(p) for p in FILES}
GRAPH = {_module_name(p): _imports(p) for p in FILES}


def _edges(module: str) -> set[str]:
    """The project modules `module` imports (a package's own `__init__` counts only when it is
    what is imported: every package here keeps its `__init__` free of imports)."""
    return (GRAPH[module] & MODULES) - {module}


def _reach(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_edges(module))
    return seen


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_graph_is_read():
    assert "core.wire.messages" in _edges("core.client.engine")
    assert {"core.wire.blobs", "core.wire.cross_memory"} <= _reach("core.client.command_client")


@pytest.mark.parametrize("package", sorted(m for m in MODULES if (REPO / m.replace(".", "/") / "__init__.py").exists()))
def test_packages_load_only_leaf_modules(package):
    """What makes `_edges` right (it leaves out the packages an import loads on the way), and keeps
    `import core` free of MPI for the workers: when loaded, a package imports at most modules that
    import nothing of the project, nor MPI, nor Qt (it may still load others lazily, in a function)."""
    tree = ast.parse((REPO / package.replace(".", "/") / "__init__.py").read_text())
    loaded = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    for module in loaded & MODULES:
        assert not _edges(module) and not [n for n in GRAPH[module] if n.split(".")[0] in ("mpi4py", *QT)]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "core")))
def test_core_never_imports_qt(module):
    assert not [name for name in GRAPH[module] if name.split(".")[0] in QT]


WORKER_SIDE = ("core.worker", "core.console.worker")


def test_the_worker_never_reaches_mpi4py():
    reached = set().union(*(_reach(m) for m in MODULES if any(_in(m, side) for side in WORKER_SIDE)))
    assert not [(m, n) for m in reached for n in GRAPH[m] if n.split(".")[0] == "mpi4py"]


def test_importing_the_worker_loads_no_mpi():
    code = ("import sys, core.worker.__main__, core.worker.execution, core.console.worker; "
            "print('mpi4py' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("side, other", [("core.client", "core.server"), ("core.server", "core.client"),
                                         ("core.worker", "core.client"), ("core.worker", "core.server"),
                                         ("core.console", "core.client"), ("core.client", "core.console"),
                                         ("core.server", "core.console"), ("core.console", "core.server"),
                                         ("core.supervision", "core.client"), ("core.supervision", "core.server"),
                                         ("core.supervision", "core.console")])
def test_one_side_never_imports_the_other(side, other):
    assert not [(m, e) for m in MODULES if _in(m, side) for e in _edges(m) if _in(e, other)]


@pytest.mark.parametrize("upper", ["core.client", "core.server", "core.worker", "core.sessions", "core.replay",
                                   "core.roles", "core.environment", "core.console", "core.frontends"])
def test_the_wire_imports_nothing_above_it(upper):
    assert not [(m, e) for m in MODULES if _in(m, "core.wire") for e in _edges(m) if _in(e, upper)]


@pytest.mark.parametrize("below", ["core.client", "core.server", "core.worker", "core.console", "core.supervision",
                                   "core.sessions", "core.wire", "core.casampi", "core.casa"])
def test_the_session_machinery_never_imports_its_frontends(below):
    """Frontends sit on top of a running client (they may import it and the console); nothing
    under them knows they exist, so a program without frontends loads none of them."""
    assert not [(m, e) for m in MODULES if _in(m, below) for e in _edges(m) if _in(e, "core.frontends")]


def test_the_session_model_needs_no_client_nor_mpi():
    """A frontend in another process builds its replica from the model alone."""
    for module in ("core.frontends.model", "core.frontends.feed", "core.frontends.replica"):
        reached = _reach(module)
        assert not [m for m in reached if _in(m, "core.client") or _in(m, "core.console")]
        assert not [(m, n) for m in reached for n in GRAPH[m] if n.split(".")[0] == "mpi4py"]


ATTACHING = ("core.frontends.attached", "core.frontends.remote")
"""What a program that attaches to a session loads: it drives a session elsewhere, not MPI."""
CLIENT_LOGIC = ("core.client.data_moves",)
"""The client's logic an attached program shares: the data moves (on a sender of its own)."""


def test_attaching_reaches_neither_the_clients_machinery_nor_mpi():
    reached = set().union(*(_reach(m) for m in ATTACHING))
    assert not [m for m in reached if (_in(m, "core.client") and m not in CLIENT_LOGIC) or _in(m, "core.console")
                or m == "core.frontends.host"]
    assert not [(m, n) for m in reached for n in GRAPH[m] if n.split(".")[0] == "mpi4py"]


def test_the_bridge_on_a_login_node_reaches_neither_the_session_machinery_nor_mpi():
    reached = _reach("core.frontends.bridge")
    assert not [m for m in reached if _in(m, "core.client") or _in(m, "core.console") or m == "core.frontends.host"]
    assert not [(m, n) for m in reached for n in GRAPH[m] if n.split(".")[0] == "mpi4py"]


def test_importing_core_attach_loads_no_mpi():
    code = "import sys, core; core.attach; print('mpi4py' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_no_import_cycles():
    cycles = sorted(m for m in MODULES if any(m in _reach(e) for e in _edges(m)))
    assert cycles == []


def test_only_the_notebook_package_imports_ipython_and_nothing_else_imports_it():
    outside = [m for m in MODULES if not _in(m, "core.jupyter")]
    assert not [(m, n) for m in outside for n in GRAPH[m]
                if n.split(".")[0] in ("IPython", "ipykernel") or _in(n, "core.jupyter")]


SESSION_MACHINERY = ("core.frontends.host", "core.frontends.local", "core.frontends.remote",
                     "core.frontends.listener", "core.replay", "core.roles", "core.environment", "core.server",
                     "mpi4py")
"""What builds or drives a session: only the bridge and the launcher may import it in app."""
CLIENT_MACHINERY = ("core.client", "core.console")
"""What can take the client's lock or run its worker: only the launcher, which starts the session."""


def _app_imports(exempt: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(m, n) for m in sorted(MODULES) if _in(m, "app") and m not in exempt for n in GRAPH[m]]


def test_widgets_reach_the_session_only_through_the_bridge():
    assert [(m, n) for m, n in _app_imports(("app.bridge", "app.__main__"))
            if any(_in(n, machinery) for machinery in SESSION_MACHINERY + CLIENT_MACHINERY)
            or n in ("core.MPICommandClient", "core.MPIEnvironment")] == []


def test_only_the_launcher_reaches_the_client():
    """The window is a frontend of a session: the embedded window's too, "a window attached in-process
    to its own session"; only `mpipanel`'s launcher makes the client whose session it shows."""
    assert [(m, n) for m, n in _app_imports(("app.__main__",))
            if any(_in(n, machinery) for machinery in CLIENT_MACHINERY)] == []


ADAPTERS = ("core.casampi", "core.casa")
"""Adapters to other APIs (casampi's, CASA's): the window shows what a command carries (its
`shown` text), never how an adapter wraps it."""
CASALOG_FORMAT = "core.casa.log_lines"
"""casalog's own line format, by which the panes show its stderr lines at their level: what CASA
prints, not how an adapter wraps anything."""


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, "app") and m != "app.__main__"))
def test_the_window_never_imports_an_adapter(module):
    """Only the launcher, which turns `--casa` on, reaches them."""
    assert not [n for n in GRAPH[module] if n.startswith(ADAPTERS) and n != CASALOG_FORMAT]
