"""`%mpipanel attach`: the notebook becomes one more frontend of a session running elsewhere.

The session is an `mpipanel` window's, a headless one (`python -m core --serve`) or a program's
(`python -m core --listen`); `core.attach` finds it by id, by connection file, as the only one
running, or over SSH (`ssh://...`). The notebook's client is a `core.AttachedClient` of kind
'notebook', and every command it sends is recorded with origin 'notebook': in the session's
history and log, live in every window attached to it, and in the scripts they save. Detaching
leaves the session and its servers running; a kernel that shuts down while attached detaches.
"""
from __future__ import annotations

import atexit

from core.jupyter.session_client import ORIGIN, SessionClient


class AttachRefusedError(RuntimeError):
    """`%mpipanel attach` could not reach the session; the message says why."""


def attach(target: str | None) -> SessionClient:
    """Attach to the session `target` names (None: the only one running); the client, not owned."""
    import core
    from core.wire.link import LinkError
    try:
        client = core.attach(target, label=ORIGIN, kind="notebook")
    except (ValueError, LinkError, OSError, EOFError, TimeoutError) as exc:
        raise AttachRefusedError(str(exc) or type(exc).__name__) from None
    session = SessionClient(client, owned=False)
    atexit.register(session.close)
    return session


def detach(session: SessionClient) -> None:
    atexit.unregister(session.close)
    session.close()
