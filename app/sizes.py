"""Byte counts as the window shows them: binary units, as the result memory counts them."""
from __future__ import annotations

MIB = 1024 * 1024


def size_text(nbytes: int) -> str:
    """`512 B`, `8.8 KiB`, `1.5 MiB`, `2.0 GiB`."""
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{nbytes} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
