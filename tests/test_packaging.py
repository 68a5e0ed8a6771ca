"""The package as a user gets it: a wheel installed into a fresh virtual environment."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
import zipfile

import pytest

from mpi_helpers import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                    str(out), str(REPO)], check=True, capture_output=True, timeout=300)
    [built] = out.glob("mpipanel-*.whl")
    return built


def test_wheel_holds_both_packages_their_type_markers_and_the_desktop_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "core/py.typed" in names and "app/py.typed" in names and "core/client/command_client.py" in names and "core/wire/messages.py" in names
    assert any(name.endswith("share/applications/mpipanel.desktop") for name in names)
    assert any(name.endswith("share/icons/hicolor/scalable/apps/mpipanel.svg") for name in names)
    assert not any(name.startswith(("examples/", "tests/")) for name in names)


def test_desktop_entry_is_a_valid_application_entry():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO / "packaging" / "mpipanel.desktop")
    section = entry["Desktop Entry"]
    assert (section["Type"], section["Exec"], section["Icon"], section["Terminal"]) == \
        ("Application", "mpipanel", "mpipanel", "false")
    assert section["Categories"].endswith(";") and section["Name"] and section["Comment"]
    assert (REPO / "resources" / "mpipanel.svg").exists() and (REPO / "resources" / "mpipanel.png").exists()


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs_an_example_and_the_cli(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(MPIPANEL_SERVERS="2", MPIPANEL_STATE_DIR=str(tmp_path / "state"), QT_QPA_PLATFORM="offscreen")
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
