"""CASA fixtures: an offline private config for the whole run, a small MS and a Multi-MS of it.

Every test here is skipped, saying why, when casatools, casatasks or casadata is not installed.
"""
from __future__ import annotations

import os

import pytest
from core.casa.offline import make_mms, make_ms, missing_casa, private_config

TEST_SUB_MS = 4


@pytest.fixture(autouse=True)
def needs_casa():
    reason = missing_casa()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def casa_config(tmp_path_factory):
    """The private offline CASA config, in force for this process; its environment variables.

    Servers need it in their preload too (`core.casa.offline.config_preload`): spawned servers get
    the environment of the first spawn of the process, which may have been before this."""
    saved = {name: os.environ.get(name) for name in ("CASASITECONFIG", "HOME")}
    environment = private_config(tmp_path_factory.mktemp("casa-config"))
    os.environ.update(environment)
    yield environment
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def small_ms(casa_config, tmp_path_factory):
    """8 scans x 2 spws, 8 antennas, 16 channels: 86016 correlations."""
    return make_ms(tmp_path_factory.mktemp("ms") / "sim.ms")


@pytest.fixture(scope="session")
def small_mms(small_ms):
    return make_mms(small_ms, small_ms.parent / f"sim_{TEST_SUB_MS}.mms", TEST_SUB_MS)
