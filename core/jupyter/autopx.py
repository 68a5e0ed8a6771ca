"""`%autopx`: while on, every cell runs on the servers as a `%%px` cell.

An input transformer, IPython's own way to rewrite a cell before it runs: the cell becomes one call
of the `px` cell magic with the cell's text, so everything `%%px` does (streamed output, values,
errors that stop "run all", interrupts) holds for it too, and the kernel's history keeps what was
typed. Cells that start with `%autopx`, `%mpipanel` or a `%px...` magic are left to the kernel.
"""
from __future__ import annotations

KERNEL_CELLS = ("%autopx", "%mpipanel", "%px", "%%px")


class AutoPx:
    def __init__(self, shell):
        self.shell = shell
        self.options = ""
        """`%%px` options applied to every cell."""

    @property
    def on(self) -> bool:
        return self.transform in self.shell.input_transformers_cleanup

    def turn_on(self, options: str) -> None:
        self.options = options
        if not self.on:
            self.shell.input_transformers_cleanup.append(self.transform)

    def turn_off(self) -> None:
        if self.on:
            self.shell.input_transformers_cleanup.remove(self.transform)

    def transform(self, lines: list[str]) -> list[str]:
        first = next((line.strip() for line in lines if line.strip()), "")
        if not first or first.startswith(KERNEL_CELLS):
            return lines
        return [f"get_ipython().run_cell_magic('px', {self.options!r}, {''.join(lines)!r})\n"]
