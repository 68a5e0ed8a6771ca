"""How long each server has been silent, counted only over time the client was able to listen.

The client declares a server timed out when it heard nothing from it for `heartbeat_timeout`. But a
client that is busy itself (its main thread holding the GIL for seconds, `str(10**1000000)`; the
whole process stopped) hears nothing either, and must not blame its servers for it: their
heartbeats wait, unread. So the engine says when it listens (`listened`, at each check of its
servers, which come every check interval while it can); a gap between two checks longer than
`deaf_gap` was time it could not listen, and it counts for no server. No MPI and no clock of its
own: the engine passes `now` (monotonic).
"""
from __future__ import annotations


class HeartbeatWatch:
    def __init__(self, deaf_gap: float):
        """`deaf_gap`: the longest pause between two checks of a client that listens (its progress
        thread wakes at least every check interval); a longer one is deafness."""
        self.deaf_gap = deaf_gap
        self._deaf = 0.0
        """Seconds the client could not listen, in all."""
        self._last_listen: float | None = None
        self._heard: dict[int, tuple[float, float]] = {}
        """By rank: (when it was last heard, `_deaf` then)."""
        self.suspended = False
        """While True, no server is newly declared timed out (casampi's debugging mode: a
        debugger holds one); one timed out already stays so until it speaks."""

    def listened(self, now: float) -> None:
        """The client is listening now (a check of its servers)."""
        if self._last_listen is not None and now - self._last_listen > self.deaf_gap:
            self._deaf += now - self._last_listen
        self._last_listen = now

    def heard(self, rank: int, now: float) -> None:
        self._heard[rank] = (now, self._deaf)

    def silent_for(self, rank: int, now: float) -> float:
        """Seconds `rank` was silent while the client listened (since `heard`, or since it was
        first asked about)."""
        if rank not in self._heard:
            self.heard(rank, now)
        heard, deaf_then = self._heard[rank]
        return max(0.0, now - heard - (self._deaf - deaf_then))
