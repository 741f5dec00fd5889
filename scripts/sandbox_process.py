"""Run planhat-sandbox as a child process and hand its URLs to a pipeline."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

SANDBOX_TOKEN = "sandbox-api-token"  # noqa: S105 - the local sandbox's own, not a secret
SANDBOX_TENANT_TOKEN = "sandbox-tenant-token"  # noqa: S105


class SandboxProcess:
    """``planhat-sandbox`` on a free port for the length of a ``with`` block."""

    def __init__(self, python: Path, records: int) -> None:
        """Remember how to start it."""
        self.python = python
        self.records = records
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SandboxProcess:  # noqa: PYI034 - final class
        """Start the server and wait for the line that gives its URL."""
        sandbox = self.python.parent / "planhat-sandbox"
        self._process = subprocess.Popen(
            [
                str(sandbox),
                "--port",
                "0",
                "--token",
                SANDBOX_TOKEN,
                "--tenant-token",
                SANDBOX_TENANT_TOKEN,
                "--records",
                str(self.records),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None  # noqa: S101 - set by PIPE
        for line in self._process.stdout:
            name, _, value = line.strip().partition("=")
            if name == "PLANHAT_API_URL":
                self.url = value
                break
        if not self.url:
            self.__exit__(None, None, None)
            raise RuntimeError("planhat-sandbox exited before printing its URL")
        return self

    def environment(self) -> dict[str, str]:
        """Variables the ``dev`` Meltano environment reads."""
        return {
            "PLANHAT_SANDBOX_URL": self.url,
            "PLANHAT_SANDBOX_TOKEN": SANDBOX_TOKEN,
            "PLANHAT_SANDBOX_TENANT_TOKEN": SANDBOX_TENANT_TOKEN,
        }

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
