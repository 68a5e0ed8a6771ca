"""casalog's lines, `date time<TAB>PRIORITY<TAB>origin<TAB>message`, and their priorities as levels.

casalog writes every line to its file, and WARN and SEVERE lines to the process's stderr as well
(casatools 6.7; `casalog.showconsole(False)` does not stop that). So a server's pane gets the
file's lower lines as log records (`core.casa.server_setup` tails the file) and the higher ones
from stderr, once each, and shows a stderr line of this shape at its priority.
"""
from __future__ import annotations

import logging

PRIORITY_LEVELS = {"SEVERE": logging.ERROR, "WARN": logging.WARNING, "INFO": logging.INFO,
                   "DEBUG": logging.DEBUG}
"""casalog priorities by their stem: INFO1..INFO5 are INFO, DEBUG1 and DEBUG2 are DEBUG."""
ON_STDERR = logging.WARNING
"""casalog echoes lines of this level and above on stderr."""


def parse_line(line: str) -> tuple[int, str] | None:
    """`(logging level, message)` of a casalog line; None for a line of another shape."""
    fields = line.split("\t", 3)
    if len(fields) == 4:
        stem = fields[1].rstrip("0123456789")
        if stem in PRIORITY_LEVELS:
            return PRIORITY_LEVELS[stem], fields[3]
    return None
