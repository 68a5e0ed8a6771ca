"""The live session as frontends see and steer it: its model, the host that serves them, attach.

A frontend is whatever renders or drives a running session: the window (in the session's own
process, or attached), a program or a notebook attached with `core.attach`. See docs/sessions.md.
"""
