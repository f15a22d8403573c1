"""Backend-neutral storage errors; every adapter translates its driver's errors into these."""

from __future__ import annotations


class PortError(Exception):
    """Base of the errors a port raises."""


class SequenceConflictError(PortError):
    """Another writer appended to the run first (the expected version is stale)."""


class StoreUnavailableError(PortError):
    """The backing store could not be reached or refused the request; safe to retry later."""


class NotFoundError(PortError):
    """The thing asked for does not exist (or belongs to another organization)."""
