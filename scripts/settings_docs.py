"""Regenerate docs/settings.md's tables from the plugins' ``--about`` output.

``python3 scripts/settings_docs.py`` rewrites the tables in place; the test suite checks
that they match (tests/test_docs.py), so the settings reference cannot drift from the code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DOC = ROOT / "docs" / "settings.md"
PLUGINS = ("tap-planhat", "target-planhat")
#: Built-in SDK settings, documented by the SDK, not repeated in our tables.
SDK_SETTINGS = (
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_",
    "batch_config",
    "add_record_metadata",
    "load_method",
    "validate_records",
    "batch_size_rows",
    "process_activate_version_messages",
)


def about_json(plugin: str) -> dict[str, Any]:
    """The plugin's ``--about --format=json``, from the console script beside this Python."""
    bindir = Path(sys.executable).parent
    return cast(
        "dict[str, Any]",
        json.loads(
            subprocess.run(
                [str(bindir / plugin), "--about", "--format=json"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        ),
    )


def settings_table(plugin: str) -> str:
    """A markdown table of the plugin's own settings."""
    schema = about_json(plugin)["settings"]
    required = set(schema.get("required", []))
    rows = ["| Setting | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, prop in schema["properties"].items():
        if name.startswith(SDK_SETTINGS):
            continue
        kind = prop.get("type", "object")
        kind = next((k for k in kind if k != "null"), "") if isinstance(kind, list) else kind
        if prop.get("format"):
            kind += f" ({prop['format']})"
        default = json.dumps(prop["default"]) if "default" in prop else ""
        description = prop.get("description", "").replace("|", "\\|").replace("\n", " ")
        flags = " **Required.**" if name in required else ""
        flags += " Secret." if prop.get("secret") else ""
        rows.append(f"| `{name}` | {kind} | {default} | {description}{flags} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    """The document's text with every plugin's table regenerated between its markers."""
    for plugin in PLUGINS:
        pattern = re.compile(
            rf"(<!-- {plugin} settings -->\n).*?(<!-- /{plugin} settings -->)", re.DOTALL
        )
        table = settings_table(plugin)

        def with_table(match: re.Match[str], table: str = table) -> str:
            return f"{match[1]}{table}\n{match[2]}"

        readme = pattern.sub(with_table, readme)
    return readme


if __name__ == "__main__":
    current = SETTINGS_DOC.read_text()
    wanted = render(current)
    if "--check" in sys.argv[1:]:
        if wanted != current:
            print("docs/settings.md is out of date: run scripts/settings_docs.py")
            sys.exit(1)
    else:
        SETTINGS_DOC.write_text(wanted)
