"""Backend-neutral storage errors; every adapter translates its driver's errors into these."""

from __future__ import annotations


class PortError(Exception):
    """Base of the errors a port raises."""


class SequenceConflictError(PortError):
    """Another writer appended to the run first (the expected version is stale)."""


class StoreUnavailableError(PortError):
    """The backing store could not be reached or refused the request; safe to retry later."""


class ItemNotStoredError(PortError):
    """The thing asked for does not exist (or belongs to another organization)."""


class IntegrityError(PortError):
    """The write would duplicate a record that must be unique (an artifact id, say); retrying
    the same write can never succeed, so callers must not treat it as a transient failure."""


class ClaimTakenError(PortError):
    """The unique claim an append asked for is already held by another run."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the claim {key!r} is already held")
        self.key = key


class RecordTooLargeError(PortError):
    """A record of the write is larger than the store keeps in one record; retrying the same
    write can never succeed."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a record of {size} bytes is over the store's {limit}-byte limit")
        self.size = size
        self.limit = limit
