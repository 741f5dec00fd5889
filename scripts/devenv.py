"""Create the project's two virtual environments on a fresh machine.

* ``.venv``: the project (editable) with its test and lint tools, at the versions in
  ``uv.lock``.
* ``.venv-meltano``: Meltano itself, kept apart because it pins many libraries (Meltano's
  installation guide, https://docs.meltano.com/getting-started/installation, asks for a clean
  environment of its own). Meltano brings uv, which then builds ``.venv`` quickly.

Only the standard library is used, so this runs on any Python 3 before anything is
installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT_VENV = ROOT / ".venv"
MELTANO_VENV = ROOT / ".venv-meltano"
MELTANO_VERSION = "4.4.1"
BIN = "Scripts" if os.name == "nt" else "bin"
#: pyproject.toml's requires-python (3.10 reached its end of life in October 2026).
MINIMUM_PYTHON = (3, 11)


def say(message: str) -> None:
    """Progress for the person at the terminal."""
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a command, failing loudly."""
    subprocess.run([str(a) for a in args], check=True, env=env)


def executable(venv_dir: Path, name: str) -> Path:
    """Path of a console script inside a venv."""
    return venv_dir / BIN / name


def ensure_meltano() -> Path:
    """The meltano executable, installing it into its own venv if needed."""
    meltano = executable(MELTANO_VENV, "meltano")
    marker = MELTANO_VENV / f".meltano-{MELTANO_VERSION}"
    if not marker.exists():
        say(f"Installing Meltano {MELTANO_VERSION} into {MELTANO_VENV.name}/ (once)")
        venv.create(MELTANO_VENV, with_pip=True, clear=True)
        python = executable(MELTANO_VENV, "python")
        run(python, "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(python, "-m", "pip", "install", "-q", f"meltano=={MELTANO_VERSION}")
        marker.touch()
    return meltano


def ensure_project(python: Path | str = sys.executable, venv_dir: Path = PROJECT_VENV) -> Path:
    """A project venv's python, synced to ``uv.lock`` when pyproject or the lock changed.

    ``uv sync --locked`` installs exactly the locked versions (the project editable, the
    sandbox extra, the test and lint tools) and refuses a lock that no longer matches
    pyproject.toml: after changing dependencies, run ``uv lock`` and commit ``uv.lock``.
    ``python`` is the interpreter the venv is built on (scripts/test.py builds one per
    supported Python version it finds).
    """
    uv = executable(MELTANO_VENV, "uv")
    venv_python = executable(venv_dir, "python")
    stamp = venv_dir / ".installed-lock"
    inputs = f"{python}\n" + (ROOT / "pyproject.toml").read_text() + (ROOT / "uv.lock").read_text()
    if not venv_python.exists() or not stamp.exists() or stamp.read_text() != inputs:
        say(f"Installing planhat-singer (editable) with its locked test and lint tools "
            f"into {venv_dir.name}/")  # fmt: skip
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv_dir)}
        run(
            uv,
            "sync",
            "--quiet",
            "--locked",
            "--project",
            ROOT,
            "--python",
            python,
            "--extra",
            "sandbox",  # the sandbox runs the tests and the demo
            "--group",
            "dev",
            # pip does this by default, uv does not: without it every process start
            # compiles singer-sdk and its dependencies again (about 0.7 s) wherever
            # PYTHONDONTWRITEBYTECODE is set, which skews every timing.
            "--compile-bytecode",
            env=env,
        )
        stamp.write_text(inputs)
    return venv_python


def ensure_all() -> tuple[Path, Path]:
    """Both environments; returns (project python, meltano)."""
    if sys.version_info < MINIMUM_PYTHON:
        sys.exit(
            f"planhat-singer needs Python >= {'.'.join(map(str, MINIMUM_PYTHON))}; this is "
            f"{sys.version.split()[0]}. Run this script with a newer python3."
        )
    meltano = ensure_meltano()
    return ensure_project(), meltano


if __name__ == "__main__":
    ensure_all()
