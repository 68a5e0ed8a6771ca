"""What a session leaves in the state directory is for its user's eyes only, and written through no
symlink someone else planted."""
from __future__ import annotations

import os
import pwd
import stat

import pytest

from core.private_files import NotPrivateError
from core.sessions.session_log import SessionLog, new_log_path


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("MPIPANEL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _nobody() -> int:
    if os.getuid() != 0:
        pytest.skip("giving a directory to another user needs root")
    return pwd.getpwnam("nobody").pw_uid


def test_a_new_session_log_and_its_directories_are_private(state):
    log = SessionLog(new_log_path(), {})
    log.close()
    assert log.path.parent == state / "sessions"
    assert (_mode(state), _mode(state / "sessions"), _mode(log.path)) == (0o700, 0o700, 0o600)


def test_a_state_directory_of_ours_that_others_can_read_is_tightened(state):
    (state / "sessions").mkdir(parents=True, mode=0o755)
    state.chmod(0o777)
    new_log_path()
    assert (_mode(state), _mode(state / "sessions")) == (0o700, 0o700)


def test_a_state_directory_of_another_user_is_refused(state):
    state.mkdir(mode=0o777)
    os.chown(state, _nobody(), -1)
    with pytest.raises(NotPrivateError, match="belongs to user .* not to you"):
        new_log_path()


def test_a_symlink_at_a_session_logs_name_is_not_written_through(state, tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("")
    path = new_log_path()
    path.symlink_to(target)
    with pytest.raises(NotPrivateError):
        SessionLog(path, {})
    assert target.read_text() == ""


def test_an_existing_log_of_ours_is_appended_to_and_made_private(tmp_path):
    path = tmp_path / "chosen.jsonl"
    path.write_text('{"event": "earlier"}\n')
    path.chmod(0o644)
    SessionLog(path, {}).close()
    assert _mode(path) == 0o600 and path.read_text().startswith('{"event": "earlier"}\n{"event": "session"')



def test_a_symlink_another_user_made_at_the_state_directorys_name_is_refused_and_one_of_ours_followed(state, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o755)
    state.symlink_to(elsewhere)
    new_log_path()
    assert _mode(elsewhere) == 0o700 and (elsewhere / "sessions").is_dir()
    os.lchown(state, _nobody(), -1)
    with pytest.raises(NotPrivateError, match="is a symlink of user .* not yours"):
        new_log_path()
