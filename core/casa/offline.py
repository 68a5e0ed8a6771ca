"""CASA offline and private, for the tests and the benchmarks: a config, and small measurement
sets made on the spot.

CASA reads its config when casatools is first imported, in every process. `private_config`
writes a site config in a temporary directory (measures data from the casadata package,
auto-updates off, logs in that directory) and returns the variables that select it:
`CASASITECONFIG`, and `HOME` so that a user's `~/.casa/config.py` cannot override it. Servers
get them through `config_preload`.

`make_ms` simulates a small ALMA MS with casatools' simulator (8 antennas, 2 spws of 16 channels,
noise, deterministic), `make_mms` partitions it into a Multi-MS. Call them after the config is in
place, and not under a running MPI client: partition must run serially.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CASA_PACKAGES = ("casatools", "casatasks", "casadata")

SITE_CONFIG = """\
import os as _os, time as _time
import casadata as _casadata
measurespath = _casadata.datapath
datapath = [_casadata.datapath]
measures_auto_update = False
data_auto_update = False
nologger = True
nogui = True
log2term = False
logfile = _os.path.join({log_dir!r}, _time.strftime('casa-%Y%m%d-%H%M%S.log', _time.gmtime()))
"""

ANTENNA_CONFIG = "alma/simmos/alma.cycle10.1.cfg"


def missing_casa() -> str | None:
    """Why CASA tests cannot run here, or None (without importing casatools: that reads the config)."""
    missing = [name for name in CASA_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (pip install -e '.[casa]')"
    return None


def private_config(directory: Path) -> dict[str, str]:
    """Write the offline site config into `directory`; the environment variables that select it."""
    log_dir = directory / "logs"
    home = directory / "home"
    log_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(exist_ok=True)
    config = directory / "casasiteconfig.py"
    config.write_text(SITE_CONFIG.format(log_dir=str(log_dir)))
    return {"CASASITECONFIG": str(config), "HOME": str(home)}


def config_preload(environment: dict[str, str]) -> str:
    """Preload lines that select the config in a server's process before CASA is imported there:
    MPICH's spawned servers get the environment of the client's first spawn, not its current one."""
    return f"import os\nos.environ.update({environment!r})\n"


def _antennas(count: int) -> tuple[list[float], list[float], list[float], list[float], list[str]]:
    """The first `count` antennas of an ALMA configuration file (x y z diameter pad, local frame)."""
    import casadata
    columns: list[list] = [[], [], [], [], []]
    with open(os.path.join(casadata.datapath, ANTENNA_CONFIG)) as lines:
        for line in lines:
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            for column, value in zip(columns, fields[:4]):
                column.append(float(value))
            columns[4].append(fields[4])
            if len(columns[0]) == count:
                break
    return tuple(columns)


def make_ms(path: Path, scans: int = 8, spws: int = 2, channels: int = 16, antennas: int = 8) -> Path:
    """A simulated MS: one 60 s scan of 10 s integrations per (scan, spw), spws alternating, 1 Jy noise."""
    from casatools import measures, simulator
    sm, me = simulator(), measures()
    x, y, z, diameters, pads = _antennas(antennas)
    sm.open(str(path))
    sm.setconfig(telescopename="ALMA", x=x, y=y, z=z, dishdiameter=diameters, mount=["alt-az"] * len(x),
                 antname=[f"DA{i:02d}" for i in range(len(x))], padname=pads, coordsystem="local",
                 referencelocation=me.observatory("ALMA"))
    sm.setfield(sourcename="src", sourcedirection=me.direction("J2000", "12h00m00s", "-30d00m00s"))
    for spw in range(spws):
        sm.setspwindow(spwname=f"spw{spw}", freq=f"{100.0 + 2.0 * spw:.1f}GHz", deltafreq="10MHz",
                       freqresolution="10MHz", nchannels=channels, stokes="XX YY")
    sm.setfeed(mode="perfect X Y")
    sm.setlimits(shadowlimit=0.0, elevationlimit="0deg")
    sm.setauto(autocorrwt=0.0)
    sm.settimes(integrationtime="10s", usehourangle=True, referencetime=me.epoch("UTC", "2024/01/01/00:00:00"))
    start = 0
    for _ in range(scans):
        for spw in range(spws):
            sm.observe("src", f"spw{spw}", starttime=f"{start}s", stoptime=f"{start + 60}s")
            start += 60
    sm.setnoise(mode="simplenoise", simplenoise="1Jy")
    sm.corrupt()
    sm.close()
    return path


def make_mms(ms: Path, path: Path, sub_ms: int) -> Path:
    """`ms` partitioned into a Multi-MS of `sub_ms` sub-MSs."""
    from casatasks import partition
    partition(vis=str(ms), outputvis=str(path), createmms=True, separationaxis="auto", numsubms=sub_ms,
              flagbackup=False)
    return path
