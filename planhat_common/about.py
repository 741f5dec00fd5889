"""``--about --format=markdown`` with the package version, for both plugins.

singer-sdk's markdown ``--about`` (what READMEs and Meltano Hub pages are made from) leaves the
version out, though its text and JSON forms show it; users filing a bug need it. Its header
template is also dedented together with the plugin's description, so a description of
several lines leaves the header indented (a code block in Markdown): the header's lines are
made flush left here too.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from importlib import metadata
from typing import Any

#: The distribution all three commands ship in; its version (pyproject.toml) is theirs.
PACKAGE_NAME = "planhat-singer"
_SDK_LINE = "Built with the [Meltano Singer SDK]"
_FIRST_SECTION = "## Capabilities"


def package_version() -> str:
    """The installed planhat-singer version."""
    return metadata.version(PACKAGE_NAME)


def with_version(markdown: str, version: str) -> str:
    """The SDK's markdown ``--about`` with a flush-left header and a version line in it."""
    head, found, rest = markdown.partition(_FIRST_SECTION)
    if not found:
        return markdown
    lines = [line.strip() for line in head.splitlines()]  # an indented line is a code block
    header = "\n".join(lines).replace(_SDK_LINE, f"Version: `{version}`\n\n{_SDK_LINE}", 1)
    return f"{header}\n{found}{rest}"


class VersionedAbout:
    """Mixin for a Tap or Target class: markdown ``--about`` names the version."""

    plugin_version: str

    @classmethod
    def print_about(cls, output_format: str | None = None) -> None:
        """Print ``--about`` as singer-sdk does; in markdown, with the version."""
        parent: Any = super()  # singer-sdk's PluginBase.print_about, next in the MRO
        if output_format != "markdown":
            parent.print_about(output_format)
            return
        rendered = io.StringIO()
        with redirect_stdout(rendered):
            parent.print_about(output_format)
        print(with_version(rendered.getvalue(), cls.plugin_version), end="")  # noqa: T201
