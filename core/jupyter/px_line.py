"""`%px [options] CODE`: the options apart from the code, which is kept verbatim.

IPython's own option parsing splits a line into words and joins them again, which would change
the code's spaces and quotes; so only the leading words that start with `-` (and the values of
the options that take one) are options, and the rest of the line is the code. `--` ends the
options, for code that starts with `-`.
"""
from __future__ import annotations

OPTIONS_WITH_VALUES = ("-t", "--targets", "--timeout", "--group-outputs")


def split_px_line(line: str) -> tuple[str, str]:
    """`(options, code)`: the options as one string for argparse, and the code."""
    options: list[str] = []
    rest = line.strip()
    while rest.startswith("-"):
        token, rest = _first_word(rest)
        if token == "--":
            break
        options.append(token)
        if token in OPTIONS_WITH_VALUES:
            value, rest = _first_word(rest)
            options.append(value)
    return " ".join(options), rest


def _first_word(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    return (parts[0], parts[1].lstrip() if len(parts) > 1 else "") if parts else ("", "")
