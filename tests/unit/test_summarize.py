"""A namespace described without its values (`core.worker.namespace_summary`)."""
from __future__ import annotations

import numpy as np

from core.worker.namespace_summary import summarize


def test_summary_describes_variables_and_leaves_out_code():
    import math

    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    def helper():
        pass

    namespace = {"__name__": "x", "math": math, "helper": helper, "Broken": Broken,
                 "grid": np.arange(12.0).reshape(3, 4), "words": ["a"] * 10, "n": 7, "odd": Broken()}
    summary = {s.name: s for s in summarize(namespace)}
    assert list(summary) == ["grid", "words", "n", "odd"]
    grid = summary["grid"]
    assert (grid.type, grid.shape, grid.length, grid.nbytes) == ("numpy.ndarray", (3, 4), None, 96)
    assert grid.preview == "float64 [0.0, 1.0, 2.0, 3.0, ...]"
    assert (summary["words"].length, summary["words"].preview) == (10, "['a', 'a', 'a', 'a', ...]")
    assert summary["n"].preview == "7" and summary["n"].length is None
    assert summary["odd"].preview.startswith("<Broken instance at 0x")
