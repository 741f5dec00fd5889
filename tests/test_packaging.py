"""The wheel users install: built from this checkout the way pip and uv build it.

A broken ``[tool.hatch.build.targets.wheel]`` table once passed every other check (the dev
venv was already installed) and failed only on a fresh machine; this builds it every run.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("planhat_common", "planhat_sandbox", "tap_planhat", "target_planhat")
COMMANDS = ("tap-planhat", "target-planhat", "planhat-sandbox")


def _uv() -> str:
    """uv from the Meltano venv scripts/test.py set up, else from PATH."""
    meltano = os.environ.get("PLANHAT_MELTANO")
    candidates = [Path(meltano).with_name("uv")] if meltano else []
    candidates += [Path(found)] if (found := shutil.which("uv")) else []
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    pytest.skip("uv not found: run through scripts/test.py")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("planhat_singer-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_every_package_and_nothing_else(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {f"{package}/__init__.py" for package in PACKAGES} <= set(wheel.namelist())
    assert {top for top in tops if not top.endswith(".dist-info")} == set(PACKAGES)


def test_the_wheel_declares_the_three_commands(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert set(parser["console_scripts"]) == set(COMMANDS)
