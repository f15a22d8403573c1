"""Errors the state machine's Retry and Catch rules name (by class name, as Lambda reports)."""

from __future__ import annotations


class TransientStepError(Exception):
    """A slice was interrupted by something that may not happen again (the browser crashed,
    the store was briefly unavailable); the state machine retries it from the last checkpoint."""


class UnknownRunError(Exception):
    """The execution names a run the event log does not have."""
