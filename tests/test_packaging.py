"""The package as a user gets it: a wheel installed into a fresh virtual environment."""
from __future__ import annotations

import configparser
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from mpi_helpers import REPO
from xvfb_display import wait_until, window_shown

DESKTOP_PATH = "/usr/local/bin:/usr/bin:/bin"
"""PATH of a desktop session that has neither an MPI nor the application's environment on it."""


BUILD_LEFTOVERS = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Built from a copy of the source tree without earlier builds' leftovers: setuptools puts
    whatever an old build/lib still holds into the wheel, modules since moved away included."""
    source = tmp_path_factory.mktemp("source") / "mpipanel"
    shutil.copytree(REPO, source, ignore=BUILD_LEFTOVERS)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                    str(out), str(source)], check=True, capture_output=True, timeout=300)
    [built] = out.glob("mpipanel-*.whl")
    return built


def test_wheel_holds_both_packages_their_type_markers_the_icon_and_the_desktop_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {"core/py.typed", "app/py.typed", "core/client/command_client.py", "core/wire/messages.py"} <= set(names)
    assert "app/resources/mpipanel.svg" in names
    assert any(name.endswith("share/applications/mpipanel.desktop") for name in names)
    assert any(name.endswith("share/icons/hicolor/scalable/apps/mpipanel.svg") for name in names)


def test_wheel_leaves_out_benchmarks_tools_examples_and_tests(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not any(name.startswith(("benchmarks/", "tools/", "examples/", "tests/")) for name in names)
    assert not any("bench" in name for name in names if name.startswith(("core/", "app/")))


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(path)
    return entry["Desktop Entry"]


def test_desktop_entry_is_a_valid_application_entry():
    section = _desktop_entry(REPO / "packaging" / "mpipanel.desktop")
    assert (section["Type"], section["Exec"], section["Icon"], section["Terminal"]) == \
        ("Application", "mpipanel", "mpipanel", "false")
    assert section["Categories"].endswith(";") and section["Name"] and section["Comment"]
    assert (REPO / "app" / "resources" / "mpipanel.svg").exists() and (REPO / "resources" / "mpipanel.png").exists()


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel (not an editable copy) installed."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # Away from the source tree (working directory and PYTHONPATH): an mpipanel.egg-info there,
    # as an editable install leaves, would count as mpipanel installed, and pip would skip it.
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                             cwd=venv, env=without_source_tree(), capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    return venv


def without_source_tree() -> dict[str, str]:
    """This environment without the PYTHONPATH that leads back to the source tree."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def installed_env(tmp_path):
    """The environment for the installed copy, with its own state directory and two servers."""
    env = without_source_tree()
    env.update(MPIPANEL_SERVERS="2", MPIPANEL_STATE_DIR=str(tmp_path / "state"), QT_QPA_PLATFORM="offscreen")
    return env


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs_an_example_and_the_cli(venv, tmp_path):
    python = venv / "bin" / "python"
    env = installed_env(tmp_path)
    env["PATH"] = DESKTOP_PATH  # the venv is not activated: its mpiexec is not on PATH
    where = subprocess.run([str(python), "-c", "import core; print(core.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, env=env, timeout=60)
    assert str(venv) in where.stdout, where.stdout + where.stderr
    version = subprocess.run([str(venv / "bin" / "mpipanel"), "--version"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("mpipanel ")
    example = subprocess.run([str(python), str(REPO / "examples" / "median_filter_state.py"), str(tmp_path)],
                             cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert example.returncode == 0, example.stderr
    assert "spikes left 0, written back: True" in example.stdout


ICON_CHECK = """
from PySide6.QtWidgets import QApplication
application = QApplication([])
from app.icon import ICON, app_icon
assert not app_icon().pixmap(64, 64).isNull()
print(ICON)
"""


@pytest.mark.slow
def test_installed_app_finds_its_icon_inside_the_package(venv, tmp_path):
    found = subprocess.run([str(venv / "bin" / "python"), "-c", ICON_CHECK], cwd=tmp_path, capture_output=True,
                           text=True, env=installed_env(tmp_path), timeout=60)
    assert found.returncode == 0, found.stderr
    icon = found.stdout.strip()
    assert icon.startswith(str(venv)) and icon.endswith("site-packages/app/resources/mpipanel.svg")


def _start_from_the_menu(entry: Path, home: Path, display: str, bin_dir: Path, **env: str) -> None:
    """Run the entry's Exec line as a desktop menu does (a bare environment whose PATH has the
    user's bin directory but no MPI), wait for the window, then quit it as Ctrl+C does."""
    command = _desktop_entry(entry)["Exec"]
    app = subprocess.Popen(["env", "-i", f"HOME={home}", f"DISPLAY={display}",
                            f"PATH={bin_dir}:{DESKTOP_PATH}", "MPIPANEL_SERVERS=2",
                            *(f"{key}={value}" for key, value in env.items()), "sh", "-c", f"exec {command}"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wait_until(lambda: window_shown(display) or app.poll() is not None, 120), "no window"
        assert app.poll() is None, app.communicate()
        app.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, stderr = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
    assert app.returncode == 0, stderr
    assert time.monotonic() - started < 30
    assert list((home / ".local" / "state" / "mpipanel" / "sessions").glob("*.jsonl"))


@pytest.mark.slow
def test_pipx_install_starts_from_the_desktop_entry_without_its_venv_on_path(wheel, tmp_path, xvfb):
    _, display = xvfb
    pipx_env = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
                "PIPX_MAN_DIR": str(tmp_path / "man")}
    pipx_env.pop("PYTHONPATH", None)
    if subprocess.run([sys.executable, "-m", "pipx", "--version"], capture_output=True).returncode != 0:
        install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "pipx"],
                                 capture_output=True, text=True, timeout=300)
        assert install.returncode == 0, install.stderr
    install = subprocess.run([sys.executable, "-m", "pipx", "install", str(wheel)], env=pipx_env,
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (tmp_path / "bin" / "mpipanel").is_symlink()  # into a venv whose bin/ is nowhere on PATH
    venv_entry = tmp_path / "pipx" / "venvs" / "mpipanel" / "share" / "applications" / "mpipanel.desktop"
    _start_from_the_menu(venv_entry, tmp_path, display, tmp_path / "bin")


@pytest.mark.slow
def test_user_install_starts_from_its_desktop_entry(wheel, tmp_path, xvfb):
    if sys.prefix != sys.base_prefix:
        pytest.skip("pip install --user needs an interpreter outside a virtual environment")
    _, display = xvfb
    user_base = tmp_path / "user"
    env = {**os.environ, "PYTHONUSERBASE": str(user_base)}
    env.pop("PYTHONPATH", None)
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--user", str(wheel)],
                             env=env, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    _start_from_the_menu(user_base / "share" / "applications" / "mpipanel.desktop", tmp_path, display,
                         user_base / "bin", PYTHONUSERBASE=str(user_base))


def test_conda_recipe_renders_and_matches_the_project():
    import re
    import tomllib

    import jinja2
    import yaml
    recipe_dir = REPO / "packaging" / "conda"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())

    def load_file_data(path):
        return tomllib.loads((recipe_dir / path).read_text())

    template = jinja2.Template((recipe_dir / "meta.yaml").read_text())
    recipe = yaml.safe_load(template.render(load_file_data=load_file_data, PYTHON="python"))
    assert recipe["package"] == {"name": "mpipanel", "version": project["project"]["version"]}
    assert recipe["build"]["entry_points"] == ["mpipanel = app.__main__:main"]
    conda_names = {"PySide6-Essentials": "pyside6"}
    names = (re.split(r"[<>=!;\s]", dep)[0] for dep in project["project"]["dependencies"])
    wanted = {conda_names.get(name, name).lower() for name in names}
    run = {requirement.split()[0] for requirement in recipe["requirements"]["run"]} - {"python"}
    assert run == wanted
    assert "mpipanel --version" in recipe["test"]["commands"]
