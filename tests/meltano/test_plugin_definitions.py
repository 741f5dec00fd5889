"""The README's install lines, as a new user runs them: a fresh Meltano project, both plugins
added from their definition files, settings given only through the environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from planhat_common.registry import get_model
from tests.sandbox_fixtures import SANDBOX_TOKEN

pytestmark = pytest.mark.meltano

ROOT = Path(__file__).resolve().parents[2]
#: A loader this repository ships no config for, added from a definition of our own (the
#: test has no Meltano Hub to look it up in).
JSONL_LOADER = """\
name: target-jsonl
namespace: target_jsonl
pip_url: target-jsonl~=0.1.4
executable: target-jsonl
settings:
- name: destination_path
"""


def readme_install_lines() -> list[str]:
    """The shell lines of the README's "Add the plugins to your Meltano project" block."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- install lines -->")
    block = readme[start:].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


class Project:
    """A fresh Meltano project in a temporary folder, beside a "clone" of this repository."""

    def __init__(self, meltano: str, workdir: Path, sandbox: Any) -> None:
        self.meltano = meltano
        self.dir = workdir / "my-project"
        (workdir / "planhat-singer").symlink_to(ROOT)  # the README's clone, by its name
        self.env = {
            **os.environ,
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_VENV_BACKEND": "uv",  # faster installs; the result is the same
            "TAP_PLANHAT_API_URL": sandbox.url,
            "TAP_PLANHAT_API_TOKEN": SANDBOX_TOKEN,
            "TARGET_JSONL_DESTINATION_PATH": str(workdir / "jsonl"),
        }
        for name in list(self.env):
            if name.startswith("PLANHAT_"):  # nothing of this repository's own setup
                del self.env[name]
        self.run(meltano, "init", "my-project", "--no_usage_stats", cwd=workdir)

    def run(self, *args: str, cwd: Path | None = None, stdout: bool = False) -> str:
        result = subprocess.run(
            list(args),
            cwd=cwd or self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{' '.join(args)}:\n{output[-4000:]}"
        return result.stdout if stdout else output

    def shell(self, line: str) -> str:
        return self.run("bash", "-c", line.replace("meltano ", f"{self.meltano} ", 1))


def test_readme_install_lines_give_every_setting_and_leave_metrics_history_out(
    meltano_executable: str, sandbox: Any, tmp_path: Path
) -> None:
    project = Project(meltano_executable, tmp_path, sandbox)
    lines = readme_install_lines()
    assert any("--from-ref" in line and "tap-planhat" in line for line in lines)
    assert any("--from-ref" in line and "target-planhat" in line for line in lines)
    for line in lines:
        project.shell(line)
    (project.dir / "target-jsonl.yml").write_text(JSONL_LOADER)
    project.run(meltano_executable, "add", "--plugin-type", "loader", "target-jsonl",
                "--from-ref", "target-jsonl.yml")  # fmt: skip

    # Settings the project never declared by hand reach the plugins typed: from the
    # environment and from `meltano config set`.
    project.env["TAP_PLANHAT_UNIONS_AS_JSON_TEXT"] = "true"
    project.run(meltano_executable, "config", "set", "tap-planhat", "detect_deletes", "true")
    config = json.loads(
        project.run(meltano_executable, "config", "print", "tap-planhat", stdout=True)
    )
    assert config["unions_as_json_text"] is True
    assert config["detect_deletes"] is True
    listed = project.run(meltano_executable, "config", "list", "target-planhat", "--all")
    for setting in ("dry_run", "results_path", "skip_unchanged", "api_token"):
        assert setting in listed

    project.run(meltano_executable, "run", "tap-planhat", "target-jsonl")
    written = {path.name.split("-")[0] for path in (tmp_path / "jsonl").glob("*.jsonl")}
    assert "companies" in written
    assert "dimension_data" not in written  # opt-in, as the README's select lines say
    companies = [
        json.loads(line)
        for path in (tmp_path / "jsonl").glob("companies*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert len(companies) == len(sandbox.records("companies"))
    # unions_as_json_text took effect: every union-typed field arrives as JSON text.
    unions = [name for name, ftype in get_model("companies").fields.items() if ftype.is_union]
    assert unions
    values = [c[name] for c in companies for name in unions if c.get(name) is not None]
    assert values
    assert all(isinstance(value, str) for value in values)
