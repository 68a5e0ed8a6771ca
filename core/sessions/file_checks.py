"""What a session file must hold before anything uses it, and the one error when it does not.

A session log or script may come from someone else, or be cut, edited or corrupted: whatever it
holds, reading it either gives well-typed pushes or raises `SessionFileError`, which names the file,
the line and what is wrong, so that the window can show it in a dialog and `python -m core.replay`
in one line. Nothing else escapes, neither a KeyError from a missing field nor a RecursionError from
JSON nested 100,000 deep nor a MemoryError from a file of many GB: files larger than
`MAX_FILE_BYTES` are refused before they are read.
"""
from __future__ import annotations

import ast
import math
import os
from pathlib import Path
from typing import Any
from collections.abc import Callable

MAX_FILE_BYTES = 256 * 1024 * 1024
"""The largest session file read (a log of 100,000 commands with small results is about 50 MB)."""


class SessionFileError(ValueError):
    """A session log or script that cannot be read: `path`, `line` (1-based, or None for the
    whole file) and `problem` say where and why."""

    def __init__(self, path: str | os.PathLike, line: int | None, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")


def read_text(path: str | os.PathLike) -> str:
    """The file's text; SessionFileError if it is too large or not UTF-8 (OSError if unreadable)."""
    with open(path, "rb") as stream:
        too_large = os.fstat(stream.fileno()).st_size > MAX_FILE_BYTES
        data = b"" if too_large else stream.read(MAX_FILE_BYTES + 1)  # + 1: it may have grown since
    if too_large or len(data) > MAX_FILE_BYTES:
        raise SessionFileError(path, None, f"larger than {MAX_FILE_BYTES // 2**20} MB, too large for a "
                                           f"session file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise SessionFileError(path, line, "not UTF-8 text") from None


def literal(source: str | ast.AST) -> Any:
    """`ast.literal_eval(source)`, raising ValueError (with why) for whatever it cannot read."""
    try:
        return ast.literal_eval(source)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ValueError(f"not a Python literal ({exc})") from None
    except (RecursionError, MemoryError):
        raise ValueError("a literal nested too deeply or too large to read") from None


# ----- what the fields of a log line may hold ------------------------------------------------
Check = tuple[Callable[[Any], bool], str]
"""A test of a field's value and what it says the value must be."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_encoded(value: Any) -> bool:
    """A value as `core.sessions.literals.encode` writes it: a readable literal, or a summary."""
    if not isinstance(value, dict):
        return False
    if "literal" in value:
        if not isinstance(value["literal"], str):
            return False
        try:
            literal(value["literal"])
        except ValueError:
            return False
        return True
    facts = value.get("summary")
    return isinstance(facts, dict) and isinstance(facts.get("type"), str) and isinstance(facts.get("repr"), str)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_time_limit(value: Any) -> bool:
    return value is None or (_is_number(value) and value > 0)


def _is_target(value: Any, sequences: tuple[type, ...] = (list,)) -> bool:
    return value is None or _is_int(value) or (isinstance(value, sequences) and bool(value)
                                               and all(map(_is_int, value)))


def _is_parameters(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(isinstance(name, str) and _is_encoded(encoded)
                                                             for name, encoded in value.items()))


INT: Check = (_is_int, "a whole number")
TEXT: Check = (lambda v: isinstance(v, str), "a string")
FLAG: Check = (lambda v: isinstance(v, bool), "true or false")
OPTIONAL_INT: Check = (lambda v: v is None or _is_int(v), "a whole number or null")
OPTIONAL_TEXT: Check = (lambda v: v is None or isinstance(v, str), "a string or null")
NUMBER: Check = (_is_number, "a number")
TIME_LIMIT: Check = (_is_time_limit, "a positive number of seconds or null")
COUNT: Check = (lambda v: _is_int(v) and v >= 0, "a whole number, zero or more")
TARGET: Check = (_is_target, "null, a server number or a list of them")
PARAMETERS: Check = (_is_parameters, "null or an object of encoded values ({\"literal\": \"...\"} or "
                                     "{\"summary\": {...}}) whose literals Python can read")
RESULT: Check = (_is_encoded, "an encoded value whose literal Python can read")
SERVERS: Check = (lambda v: isinstance(v, list) and all(map(_is_int, v)), "a list of server numbers")

LOG_FIELDS: dict[str, dict[str, Check]] = {
    "session": {},
    "queued": {"id": INT, "push": INT, "command": TEXT, "target": TARGET, "block": FLAG, "parameters": PARAMETERS},
    "finished": {"id": INT, "server": OPTIONAL_INT, "status": TEXT, "successful": FLAG, "ret": RESULT,
                 "traceback": OPTIONAL_TEXT},
}
"""The fields each kind of log line must have; lines of other kinds are left alone."""
OPTIONAL_LOG_FIELDS: dict[str, dict[str, Check]] = {
    "session": {"servers": SERVERS, "preload": OPTIONAL_TEXT},
    "queued": {"origin": OPTIONAL_TEXT, "shown": OPTIONAL_TEXT, "time_limit": TIME_LIMIT, "retries": COUNT},
    "finished": {"time_start": NUMBER, "time_end": NUMBER, "provisional": FLAG},
}
"""Fields a line may lack (older logs do), but of this type when present."""


def check_log_entry(path: str | Path, line: int, entry: Any) -> str | None:
    """The kind of a log line's parsed JSON, once it is sure to have the fields of that kind
    with values of their types; None for a kind the reader ignores."""
    if not isinstance(entry, dict):
        raise SessionFileError(path, line, f"a JSON object was expected, not {_json_type(entry)}")
    kind = entry.get("event")
    if not isinstance(kind, (str, type(None))):
        raise SessionFileError(path, line, f"'event' must be a string, not {_json_type(kind)} {_short(kind)}")
    if kind not in LOG_FIELDS:
        return None
    for name, (test, wanted) in LOG_FIELDS[kind].items():
        if name not in entry:
            raise SessionFileError(path, line, f"the {kind!r} line has no {name!r}")
        _check_field(path, line, kind, name, entry[name], test, wanted)
    for name, (test, wanted) in OPTIONAL_LOG_FIELDS.get(kind, {}).items():
        if name in entry:
            _check_field(path, line, kind, name, entry[name], test, wanted)
    return kind


def _check_field(path, line, kind: str, name: str, value: Any, test: Callable[[Any], bool], wanted: str) -> None:
    if not test(value):
        raise SessionFileError(path, line, f"{name!r} of the {kind!r} line must be {wanted}, "
                                           f"not {_json_type(value)} {_short(value)}")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ----- what the arguments of a script's calls may hold ----------------------------------------
SCRIPT_ARGUMENTS: dict[str, Check] = {
    "command": (lambda v: isinstance(v, str), "a string"),
    "block": (lambda v: isinstance(v, bool), "True or False"),
    "target_server": (lambda v: _is_target(v, (list, tuple)), "None, a server number or a list of them"),
    "parameters": (lambda v: v is None or (isinstance(v, dict) and all(isinstance(k, str) for k in v)),
                   "None or a dict with string keys"),
    "origin": (lambda v: v is None or isinstance(v, str), "None or a string"),
    "shown": (lambda v: v is None or isinstance(v, str), "None or a string"),
    "timeout": (_is_time_limit, "None or a positive number of seconds"),
    "retries": (lambda v: _is_int(v) and v >= 0, "a whole number, zero or more"),
}
SCRIPT_SETTINGS: dict[str, Check] = {
    "SERVERS": (lambda v: _is_int(v) and v > 0, "a positive whole number"),
    "PRELOAD": (lambda v: v is None or isinstance(v, str), "None or a string"),
}


def check_script_value(path: str | Path, line: int, name: str, value: Any, checks: dict[str, Check]) -> None:
    test, wanted = checks[name]
    if not test(value):
        raise SessionFileError(path, line, f"{name} must be {wanted}, not {type(value).__name__} {_short(value)}")


def script_literal(path: str | Path, node: ast.expr, name: str) -> Any:
    """The literal value of a script's expression `node` (the argument or setting `name`)."""
    try:
        return literal(node)
    except ValueError:
        raise SessionFileError(path, node.lineno, f"{name} must be a literal, not {_short_code(node)}") from None


def _short_code(node: ast.expr) -> str:
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):
        return "code"
    return text if len(text) <= 60 else text[:57] + "..."
