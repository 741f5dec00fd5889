"""Regenerate the README's generated tables: settings from ``--about``, streams from the registry.

``python3 scripts/readme_tables.py`` rewrites the tables in place between their markers; the
test suite checks that they match (tests/test_docs.py), so the README cannot drift from the
code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

from planhat_common.registry import MODELS, Verb

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
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


def streams_table() -> str:
    """A markdown table of every registry model: how the tap reads it, how the target writes."""
    rows = [
        "| Stream | Planhat model | tap-planhat reads | target-planhat writes | Matched by |",
        "| --- | --- | --- | --- | --- |",
    ]
    for model in MODELS:
        if not model.readable:
            reads = "write-only"
        elif model.replication_key:
            reads = f"incremental (`{model.replication_key}`)"
        else:
            reads = "full table"
        if not model.selected_by_default and model.readable:
            reads += ", on request"
        if model.supports(Verb.PUSH):
            writes = "pushed (analytics host)"
        elif model.supports(Verb.BULK_UPSERT):
            writes = "bulk upsert"
        elif model.supports(Verb.CREATE):
            writes = "one by one"
        else:
            writes = "read-only"
        keys = ", ".join(f"`{k}`" for k in model.keyables) or "-"
        path = f" `{model.path}`" if model.path else ""
        rows.append(
            f"| `{model.name}` | {model.planhat_name}{path} | {reads} | {writes} | {keys} |"
        )
    return "\n".join(rows)


def _tables() -> dict[str, str]:
    tables = {f"{plugin} settings": settings_table(plugin) for plugin in PLUGINS}
    tables["streams"] = streams_table()
    return tables


def render(readme: str) -> str:
    """README text with every generated table regenerated between its markers."""
    for name, table in _tables().items():
        pattern = re.compile(rf"(<!-- {name} -->\n).*?(<!-- /{name} -->)", re.DOTALL)

        def with_table(match: re.Match[str], table: str = table) -> str:
            return f"{match[1]}{table}\n{match[2]}"

        readme = pattern.sub(with_table, readme)
    return readme


if __name__ == "__main__":
    current = README.read_text()
    wanted = render(current)
    if "--check" in sys.argv[1:]:
        if wanted != current:
            print("README tables are out of date: run scripts/readme_tables.py")
            sys.exit(1)
    else:
        README.write_text(wanted)
