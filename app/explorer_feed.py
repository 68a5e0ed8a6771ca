"""Feeds the variable explorers: summaries of the servers' namespaces in, pulled values out.

Watching (`MPICommandClient.watch_namespaces`) would make every command on every server bring a
summary, costing each command a few ms per 1,000 names whether anyone looks or not. The window asks
instead (`request_namespace_summaries`), and only for the servers of an explorer in sight: when it
comes into sight, and after each command that finishes on one of its servers. A server has at most
one request in flight; commands finishing meanwhile earn it one more once that is answered, so a
burst of commands costs two summaries, not one each. A request waits in the server's queue like a
command: it describes the namespace after the commands sent before it, and while a long command
runs the explorer shows the namespace as it was before.
"""
from __future__ import annotations

from concurrent.futures import Future

from PySide6.QtCore import QObject, Qt

from .variable_explorer import VariableExplorer


class ExplorerFeed(QObject):
    def __init__(self, bridge, panes: list, parent: QObject | None = None):
        """`panes`: the `ServerPane`s whose explorers it feeds and whose result trees show pulls."""
        super().__init__(parent)
        self.bridge = bridge
        self.panes = panes
        self.requests = 0
        """Summary requests sent so far (what the explorers cost the servers)."""
        self._shown: set[VariableExplorer] = set()
        self._asking: set[int] = set()
        self._again: set[int] = set()
        bridge.namespaceChanged.connect(self._on_summary, Qt.ConnectionType.QueuedConnection)
        for pane in panes:
            pane.explorer.shownChanged.connect(lambda shown, e=pane.explorer: self._on_shown(e, shown))
            pane.explorer.pullRequested.connect(lambda name, rank, pane=pane: self.pull(pane, name, rank))

    def show_namespaces(self, namespaces: dict) -> None:
        """The summaries a session's snapshot holds (`{rank: NamespaceChanged}`), then fresh ones
        for the explorers in sight."""
        for rank, summary in namespaces.items():
            self._on_summary(rank, summary.names)
        for explorer in self._shown:
            self.refresh(explorer.ranks)

    def command_finished(self, rank: int) -> None:
        if any(rank in explorer.ranks for explorer in self._shown):
            self.refresh([rank])

    def refresh(self, ranks: list[int]) -> None:
        """Ask these servers for their summaries, unless one is on its way (then once more after)."""
        for rank in ranks:
            if rank in self._asking:
                self._again.add(rank)
                continue
            try:
                future = self.bridge.request_namespaces([rank])
            except (ValueError, RuntimeError):  # lost, or the client stopped: nothing to show
                continue
            self._asking.add(rank)
            self.requests += 1
            self.bridge.when_done(future, lambda _done, rank=rank: self._answered(rank))

    def pull(self, pane, name: str, rank: int) -> None:
        """Pull `name` from server `rank` into `pane`'s result tree; a failure is said in its explorer."""
        try:
            future = self.bridge.pull(name, rank)
        except (ValueError, TypeError, RuntimeError) as exc:
            pane.explorer.show_message(str(exc), error=True)
            return
        pane.explorer.show_message(f"Pulling {name} from server {rank}…")
        self.bridge.when_done(future, lambda done: self._pulled(pane, name, rank, done))

    def _pulled(self, pane, name: str, rank: int, future: Future) -> None:
        problem = future.exception()
        if problem is not None:
            pane.explorer.show_message(str(problem), error=True)
            return
        pane.explorer.show_message("")
        pane.response.show_value(f"<b>{name}</b> pulled from server {rank}", name, future.result()[rank])

    def _on_shown(self, explorer: VariableExplorer, shown: bool) -> None:
        if shown:
            self._shown.add(explorer)
            self.refresh(explorer.ranks)
        else:
            self._shown.discard(explorer)

    def _on_summary(self, rank: int, names: list) -> None:
        for pane in self.panes:
            if rank in pane.explorer.ranks:
                pane.explorer.set_names(rank, names)

    def _answered(self, rank: int) -> None:
        self._asking.discard(rank)
        if rank in self._again:
            self._again.discard(rank)
            self.command_finished(rank)
