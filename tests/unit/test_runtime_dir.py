"""Where connection files live: `$MPIPANEL_RUNTIME_DIR`, else under `$XDG_RUNTIME_DIR` when that is a
private directory of ours, else /tmp/mpipanel-UID (a Slurm job inherits the submitter's
XDG_RUNTIME_DIR, which often does not exist on the compute node)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.frontends.connection_files import lookup_dirs, runtime_dir

FALLBACK = Path(f"/tmp/mpipanel-{os.geteuid()}")


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.delenv("MPIPANEL_RUNTIME_DIR", raising=False)
    return monkeypatch


def test_a_private_xdg_runtime_dir_holds_the_connection_files(environment, tmp_path):
    tmp_path.chmod(0o700)
    environment.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert runtime_dir() == tmp_path / "mpipanel"
    assert (tmp_path / "mpipanel").stat().st_mode & 0o777 == 0o700


def test_an_xdg_runtime_dir_that_does_not_exist_here_falls_back_to_tmp(environment, tmp_path):
    environment.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run-user-1000-on-the-login-node"))
    assert runtime_dir(create=False) == FALLBACK


def test_an_xdg_runtime_dir_others_may_enter_falls_back_to_tmp(environment, tmp_path):
    tmp_path.chmod(0o755)
    environment.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert runtime_dir(create=False) == FALLBACK


def test_mpipanel_runtime_dir_names_the_directory_outright_and_is_made_private(environment, tmp_path):
    environment.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    environment.setenv("MPIPANEL_RUNTIME_DIR", str(tmp_path / "shared" / "mpipanel"))
    assert runtime_dir() == tmp_path / "shared" / "mpipanel"
    assert (tmp_path / "shared" / "mpipanel").stat().st_mode & 0o777 == 0o700


def test_mpipanel_runtime_dir_open_to_others_is_tightened_and_another_users_refused(environment, tmp_path):
    (tmp_path / "open").mkdir(mode=0o755)
    (tmp_path / "open").chmod(0o755)
    environment.setenv("MPIPANEL_RUNTIME_DIR", str(tmp_path / "open"))
    assert runtime_dir().stat().st_mode & 0o777 == 0o700
    if os.geteuid() == 0:  # only root can give a directory away
        (tmp_path / "theirs").mkdir(mode=0o700)
        os.chown(tmp_path / "theirs", 65534, 65534)
        environment.setenv("MPIPANEL_RUNTIME_DIR", str(tmp_path / "theirs"))
        with pytest.raises(PermissionError, match="belongs to user 65534"):
            runtime_dir()


def test_sessions_are_looked_for_in_every_private_place_a_session_may_have_chosen(environment, tmp_path):
    """A bridge whose ssh login has an XDG_RUNTIME_DIR finds a session of a job that had none."""
    xdg = tmp_path / "run-user"
    (xdg / "mpipanel").mkdir(parents=True, mode=0o700)
    xdg.chmod(0o700)
    (tmp_path / "open" / "mpipanel").mkdir(parents=True, mode=0o700)
    (tmp_path / "open").chmod(0o755)
    environment.setenv("MPIPANEL_RUNTIME_DIR", str(tmp_path / "named"))
    environment.setenv("XDG_RUNTIME_DIR", str(xdg))
    assert lookup_dirs()[:2] == [tmp_path / "named", xdg / "mpipanel"]
    environment.setenv("XDG_RUNTIME_DIR", str(tmp_path / "open"))
    assert tmp_path / "open" / "mpipanel" not in lookup_dirs()  # as no session would choose it
