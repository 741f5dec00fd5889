"""Running a plugin's command line: an expected failure ends with one clear error line.

Expected failures are the ones whose message says what is wrong and what to do: a bad token
or region, a stream that cannot be written as configured, more rejected records than
``max_rejected``, a call that failed for good. Their traceback helps nobody but a developer,
so it is logged at DEBUG only. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import FatalAPIError

from planhat_common.errors import ExpectedFailure

if TYPE_CHECKING:
    from collections.abc import Callable

EXPECTED_FAILURES = (ExpectedFailure, FatalAPIError)


def run_command(cli: Callable[[], Any], logger_name: str) -> None:
    """Run ``cli``; on an expected failure log one error line and exit 1."""
    try:
        cli()
    except EXPECTED_FAILURES as exc:
        logger = logging.getLogger(logger_name)
        logger.debug("Where it failed:", exc_info=True)
        logger.error("%s", exc)  # noqa: TRY400 - the traceback is above, at DEBUG
        raise SystemExit(1) from None
