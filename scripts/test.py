"""Set everything up and run every check: ruff, mypy and the tests on every supported Python.

* The whole pytest suite, ruff and mypy run on this Python (the one running the script).
* The fast subset (units, tap, target, sandbox: no Meltano pipelines) runs on every other
  version pyproject.toml's classifiers list that this machine has (scripts/pythons.py),
  each in a venv of its own (``.venv-py3.X``). A version the machine lacks is reported as
  skipped, never as passed.

Extra arguments go to pytest on this Python only (e.g. ``python3 scripts/test.py -k
sandbox``). Exits non-zero on any failure, including a run in which no test ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devenv import PROJECT_VENV, ROOT, ensure_all, ensure_project, executable, say
from pythons import find_interpreter, supported_versions

PYTEST_NO_TESTS_COLLECTED = 5
#: What runs on the other Python versions: everything but the Meltano pipelines, the
#: packaging and docs checks (the same on any version) and the reliability soak.
SUBSET = (
    "tests/common",
    "tests/tap",
    "tests/target",
    "tests/sandbox",
    "tests/test_registry.py",
    "tests/test_field_types.py",
    "tests/test_sdk_contract.py",
)


def check(*args: str, env: dict[str, str] | None = None) -> int:
    """Run one check; return its exit code."""
    say(" ".join(args))
    return subprocess.run(args, cwd=ROOT, env=env, check=False).returncode


def run_pytest(venv: Path, *args: str, env: dict[str, str]) -> int:
    """Run pytest in ``venv``; a run that collects no test fails."""
    code = check(str(executable(venv, "pytest")), *args, env=env)
    if code == PYTEST_NO_TESTS_COLLECTED:
        print("No tests ran: failing.", file=sys.stderr)
        return 1
    return code


def outcome(code: int) -> str:
    """How a run ended, for the closing report."""
    return "passed" if code == 0 else f"FAILED (exit {code})"


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
    this = "{}.{}".format(*sys.version_info[:2])
    codes = [run_pytest(PROJECT_VENV, *sys.argv[1:], env=env)]
    report = [f"Python {this}: full suite {outcome(codes[0])}"]
    for version in supported_versions():
        if version == this:
            continue
        if sys.argv[1:]:
            report.append(f"Python {version}: skipped (pytest arguments given: this Python only)")
            continue
        python = find_interpreter(version)
        if python is None:
            report.append(f"Python {version}: skipped (no working interpreter on this machine)")
            continue
        venv = ROOT / f".venv-py{version}"
        ensure_project(python, venv)
        codes.append(run_pytest(venv, "-q", "-p", "no:cacheprovider", *SUBSET, env=env))
        report.append(f"Python {version}: fast subset {outcome(codes[-1])} ({python})")
    say("Tests by Python version:")
    for line in report:
        print(f"    {line}", flush=True)
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(main())
