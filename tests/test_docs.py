"""The docs, plugin definitions and meltano.yml describe the settings the plugins really have."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import plugin_definitions  # noqa: E402
from readme_tables import SDK_SETTINGS, render  # noqa: E402

PLUGINS = {"tap-planhat": "extractors", "target-planhat": "loaders"}


def about_output(plugin: str, output_format: str) -> str:
    bindir = Path(sys.executable).parent
    return subprocess.run(
        [str(bindir / plugin), "--about", f"--format={output_format}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def about(plugin: str) -> dict:
    return json.loads(about_output(plugin, "json"))


def test_readme_tables_match_about_and_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    assert render(readme) == readme, "run: python3 scripts/readme_tables.py"
    assert "`api_token`" in readme
    assert "| `line_items` | LineItem `/lineitems` |" in readme


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_meltano_yml_declares_every_setting(plugin: str) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    declared = next(p for p in project["plugins"][PLUGINS[plugin]] if p["name"] == plugin)
    names = {s["name"] for s in declared["settings"]}
    settings = about(plugin)["settings"]["properties"]
    own = {n for n in settings if not n.startswith(SDK_SETTINGS)}
    assert own <= names
    assert names <= set(settings)  # SDK settings users tune may be declared too
    secrets = {s["name"] for s in declared["settings"] if s.get("sensitive")}
    assert secrets == {"api_token", "tenant_token"}
    assert set(declared["capabilities"]) == set(about(plugin)["capabilities"])


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_plugin_definition_files_match_about(plugin: str) -> None:
    path = plugin_definitions.definition_path(plugin)
    assert path.read_text() == plugin_definitions.render(plugin), (
        "run: python3 scripts/plugin_definitions.py"
    )
    shipped = yaml.safe_load(path.read_text())
    settings = {s["name"]: s for s in shipped["settings"]}
    assert set(settings) == set(about(plugin)["settings"]["properties"])
    assert {n for n, s in settings.items() if s.get("sensitive")} == {"api_token", "tenant_token"}
    assert "structured-logging" in shipped["capabilities"]
    # Meltano passes typed values only for the kinds it knows.
    assert all(s["kind"] in plugin_definitions.KINDS.values() or s["kind"] == "date_iso8601"
               for s in settings.values())  # fmt: skip


def _pyproject_version() -> str:
    # tomllib is Python 3.11+; the one line is enough for a check.
    text = (ROOT / "pyproject.toml").read_text()
    return text.split('\nversion = "', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_about_shows_the_package_version(plugin: str) -> None:
    info = about(plugin)
    assert info["version"] == _pyproject_version()
    assert info["name"] == plugin


@pytest.mark.parametrize("command", ["tap-planhat", "target-planhat", "planhat-sandbox"])
def test_every_command_reports_the_one_version_in_pyproject(command: str) -> None:
    bindir = Path(sys.executable).parent
    shown = subprocess.run(
        [str(bindir / command), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"v{_pyproject_version()}" in shown


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_markdown_about_shows_the_version_and_a_flush_left_header(plugin: str) -> None:
    head = about_output(plugin, "markdown").split("## Capabilities")[0]
    assert f"Version: `{about(plugin)['version']}`" in head
    assert head.startswith(f"# `{plugin}`")
    assert not [line for line in head.splitlines() if line.startswith(" ")]
