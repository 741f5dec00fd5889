"""Set everything up and run every check: ruff, mypy and the whole pytest suite.

Extra arguments go to pytest (e.g. ``python3 scripts/test.py -k sandbox``).
Exits non-zero on any failure, including a run in which no test ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import PROJECT_VENV, ROOT, ensure_all, executable, say

PYTEST_NO_TESTS_COLLECTED = 5


def check(*args: str, env: dict[str, str] | None = None) -> int:
    """Run one check in the project venv; return its exit code."""
    say(" ".join(args))
    return subprocess.run(args, cwd=ROOT, env=env, check=False).returncode


def main() -> int:
    """Run the checks; the first failing one decides the exit code."""
    _python, meltano = ensure_all()
    tool = lambda name: str(executable(PROJECT_VENV, name))  # noqa: E731
    env = {**os.environ, "PLANHAT_MELTANO": str(meltano)}
    for name in ("PLANHAT_API_TOKEN", "PLANHAT_TENANT_TOKEN"):
        env.pop(name, None)  # tests never touch a real tenant
    for code in (
        check(tool("ruff"), "check", "."),
        check(tool("ruff"), "format", "--check", "."),
        check(tool("mypy")),
    ):
        if code:
            return code
    code = check(tool("pytest"), *sys.argv[1:], env=env)
    if code == PYTEST_NO_TESTS_COLLECTED:
        print("No tests ran: failing.", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
