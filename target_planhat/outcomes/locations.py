"""Where the target keeps its files across runs when no path is set: never the current directory.

A ledger that silently starts empty because a run started in another directory would send
every row again (sync ledger) or push metrics twice (push ledger). Under Meltano, which sets
``MELTANO_PROJECT_ROOT`` for every plugin it runs, the files are kept in the project's root,
wherever ``meltano`` was started from (where a run from the root kept them before). Outside
Meltano, in the user's state directory (``$XDG_STATE_HOME``, else ``~/.local/state``), under
``target-planhat/``, which no change of directory moves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Set by Meltano for every plugin it runs: the project's root directory.
MELTANO_PROJECT_ROOT = "MELTANO_PROJECT_ROOT"


def kept_file(environ: Mapping[str, str], in_project: str, in_state_directory: str) -> Path:
    """``in_project`` in the Meltano project's root, else ``in_state_directory`` in the user's."""
    project = environ.get(MELTANO_PROJECT_ROOT)
    if project:
        return Path(project) / in_project
    state_home = environ.get("XDG_STATE_HOME")
    if state_home and Path(state_home).is_absolute():  # the XDG spec ignores relative ones
        return Path(state_home) / "target-planhat" / in_state_directory
    home = environ.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "state" / "target-planhat" / in_state_directory
