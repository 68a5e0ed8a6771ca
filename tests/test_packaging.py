"""The package as a user gets it: a wheel installed into a fresh virtual environment."""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from mpi_helpers import REPO


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


def test_desktop_entry_is_a_valid_application_entry():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO / "packaging" / "mpipanel.desktop")
    section = entry["Desktop Entry"]
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
