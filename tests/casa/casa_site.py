"""CASA for tests, offline and private: a site config in a temporary directory, a temporary HOME
(so the user's ~/.casa is neither read nor written), and a skip when CASA is not installed."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

requires_casa = pytest.mark.skipif(importlib.util.find_spec("casatasks") is None,
                                   reason="CASA is not installed (pip install 'mpipanel[casa]')")

SITE_CONFIG = """\
import casadata as _casadata
measurespath = _casadata.datapath
datapath = [_casadata.datapath]
measures_auto_update = False
data_auto_update = False
nologger = True
nogui = True
log2term = False
logfile = {logfile!r}
"""


def casa_environment(directory: Path) -> dict[str, str]:
    """Environment variables that make casatools load a private offline config from `directory`
    (measures from the casadata package, no downloads, the CASA log in `directory`)."""
    home = directory / "home"
    home.mkdir(exist_ok=True)
    config = directory / "casasiteconfig.py"
    config.write_text(SITE_CONFIG.format(logfile=str(directory / "casa.log")))
    return {"CASASITECONFIG": str(config), "HOME": str(home)}
