"""Domain errors: a command that the run's current state does not allow."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a domain rule raises."""


class InvalidTransitionError(DomainError):
    """An event that the run's current state does not allow (e.g. a step after the end)."""

    def __init__(self, run_id: str, event_type: str, reason: str) -> None:
        super().__init__(f"{event_type} is not allowed for run {run_id}: {reason}")
        self.run_id = run_id
        self.event_type = event_type
        self.reason = reason


class RunAlreadyFinishedError(InvalidTransitionError):
    """The run has its terminal event; only artifacts and webhook records may follow."""


class RunAlreadyExistsError(InvalidTransitionError):
    """A second RunCreated for the same run id."""


class RequestRefusedError(DomainError):
    """A well-formed request this deployment will not carry out (a refused callback address, a
    run that cannot be signed); the message says why and is shown to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
