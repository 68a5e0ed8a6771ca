"""Values as Python literals where they have one, as short summaries where they do not.

A session log and a saved script must hold parameters and results as text a person can read and
`ast.literal_eval` can read back. A value whose `repr` does not round-trip (an array, an object,
a NaN) or is too long is summarised instead: type, shape, dtype, size, a digest of its bytes for
an array, and a shortened repr. The same encoding lets a replay compare a new result with the
recorded one.
"""
from __future__ import annotations

import ast
import hashlib
import reprlib
from typing import Any

from core.wire.responses import ReleasedValue

RESULT_LIMIT = 10_000
"""Characters of a result's literal kept in a log; a longer result is summarised."""

DIGEST_LIMIT = 16 * 1024 * 1024
"""Bytes of an array (a value with the buffer protocol) hashed into its summary, so that a replay
tells an array from another of the same shape; a larger one is compared by its facts alone.
(SHA-256 takes about 10 ms for this many bytes here, on the thread that logs the result.)"""
_EXACT_REPR = ("float", "complex")
"""Types whose repr is the value itself, nan and inf included: compared by it."""

_READ_BACK = (int, str, bytes, bool, type(None))
"""Types whose repr always reads back as an equal value: no parse to check it (most results, and a
parse costs more than the rest of logging one)."""

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 120


def literal_repr(value: Any, limit: int | None = None) -> str | None:
    """`repr(value)` if it reads back as an equal value (and is at most `limit` long), else None."""
    if limit is not None and _surely_longer(value, limit):
        return None
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ has no literal form
        return None
    if limit is not None and len(text) > limit:
        return None
    if type(value) in _READ_BACK:
        return text
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    try:
        return text if bool(same) else None
    except (ValueError, TypeError):  # an array compares element-wise
        return None


def _surely_longer(value: Any, limit: int) -> bool:
    """A cheap look before a costly repr: a container of more than `limit` // 2 items is."""
    try:
        return isinstance(value, (list, tuple, set, frozenset, dict, str, bytes)) and len(value) > limit // 2
    except TypeError:
        return False


def summary(value: Any, digest: bool = True) -> dict[str, Any]:
    """What can be said of a value without keeping it: type, and shape/dtype/size when it has them;
    with `digest`, a hash of an array's bytes (what a replay compares; it costs ≈ 0.6 ms a MB)."""
    if isinstance(value, ReleasedValue):
        return dict(value.summary)
    facts: dict[str, Any] = {"type": f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")}
    for name in ("shape", "dtype", "size"):
        attribute = getattr(value, name, None)
        if attribute is not None and not callable(attribute):
            facts[name] = (list(attribute) if name == "shape" else
                           str(attribute) if name == "dtype" else int(attribute))
    if "size" not in facts and hasattr(value, "__len__"):
        try:
            facts["size"] = len(value)
        except TypeError:
            pass
    hashed = _digest(value) if digest else None
    if hashed is not None:
        facts["digest"] = hashed
    facts["repr"] = _short.repr(value)
    return facts


def _digest(value: Any) -> str | None:
    """SHA-256 of the bytes of a value with the buffer protocol (up to `DIGEST_LIMIT`), else None."""
    try:
        view = memoryview(value)
    except TypeError:
        return None
    if view.nbytes > DIGEST_LIMIT:
        return None
    return hashlib.sha256(view if view.c_contiguous else view.tobytes()).hexdigest()[:32]


def encode(value: Any, limit: int | None = RESULT_LIMIT) -> dict[str, Any]:
    text = literal_repr(value, limit)
    return {"literal": text} if text is not None else {"summary": summary(value)}


def difference(recorded: dict[str, Any], value: Any) -> str | None:
    """How `value` differs from a recorded `encode(...)`, or None when it matches."""
    if "literal" in recorded:
        expected = ast.literal_eval(recorded["literal"])
        actual = literal_repr(value)
        if actual is not None and ast.literal_eval(actual) == expected:
            return None
        return f"{_short.repr(value)} != recorded {_short.repr(expected)}"
    wanted = recorded["summary"]
    compared = [k for k in wanted if k != "repr" or wanted["type"] in _EXACT_REPR]
    got = summary(value)  # a fact the recording lacks (a log from before digests) is not compared
    if all(got.get(k) == wanted[k] for k in compared):
        return None
    if all(got.get(k) == wanted[k] for k in compared if k != "digest"):
        return f"{_describe(got)}, other values than recorded"
    return f"{_describe(got)} != recorded {_describe(wanted)}"


def _describe(facts: dict[str, Any]) -> str:
    shown = [f"{k}={v}" for k, v in facts.items() if k not in ("digest", "repr")]
    return " ".join(shown) if len(shown) > 1 else facts["repr"]
