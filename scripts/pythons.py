"""The Python versions the project supports, and where this machine keeps an interpreter of each.

The versions are pyproject.toml's ``Programming Language :: Python :: 3.X`` classifiers, so
the package's metadata and what scripts/test.py proves are one list. Interpreters are looked
for the ways machines provide them: ``python3.X`` on PATH, then pyenv's versions folder (where
a bare ``python3.12`` shim may exist and still not resolve). A candidate counts only if it
runs and says it is that version.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CLASSIFIER = re.compile(r'"Programming Language :: Python :: (3\.\d+)"')


def supported_versions() -> list[str]:
    """``["3.11", "3.12", ...]`` from pyproject.toml's classifiers, oldest first."""
    found = _CLASSIFIER.findall((ROOT / "pyproject.toml").read_text())
    return sorted(set(found), key=lambda v: tuple(int(p) for p in v.split(".")))


def _candidates(version: str) -> list[str]:
    names = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installs = sorted((pyenv_root / "versions").glob(f"{version}.*"), reverse=True)
    names += [str(p / "bin" / f"python{version}") for p in installs]
    return [n for n in names if n]


def runs_as(python: str, version: str) -> bool:
    """Whether ``python`` starts and reports ``version`` (a shim that resolves nothing fails)."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_interpreter(version: str) -> str | None:
    """A working interpreter of ``version`` on this machine, or None."""
    return next((p for p in _candidates(version) if runs_as(p, version)), None)
