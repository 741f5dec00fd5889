"""The failures a run is expected to meet, each ending it with one clear error line.

Their messages say what is wrong and what to do, and are safe to log (no tokens), so the
command line shows the message alone (:mod:`planhat_common.cli`). Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class ExpectedFailure(Exception):  # noqa: N818 - the family name, not one error
    """A failure whose message is the whole story for the user."""


class PlanhatError(ExpectedFailure):
    """A Planhat call failed for good."""


class SettingsError(ExpectedFailure):
    """A setting, or the input it applies to, cannot be used as given; no call was made for it."""
