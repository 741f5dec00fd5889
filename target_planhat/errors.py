"""Errors the target raises for its input and its results (messages safe to log)."""

from __future__ import annotations

from planhat_common.errors import ExpectedFailure, SettingsError


class StreamSetupError(SettingsError):
    """A stream cannot be written as its SCHEMA or settings say; the message says how to fix."""


class UnknownStreamError(StreamSetupError):
    """A stream matches no Planhat model and is not mapped in the ``streams`` setting."""


class RejectedRecordsError(ExpectedFailure):
    """More records were rejected than ``max_rejected`` allows."""
