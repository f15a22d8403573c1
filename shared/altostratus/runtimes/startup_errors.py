"""Why the embedded server cannot start, in words for one line of the terminal."""

from __future__ import annotations


class StartupError(RuntimeError):
    """The server cannot start for a reason the operator can fix (`alto` exits with 2)."""


class DataDirBusyError(StartupError):
    """Another process holds the data directory's lock."""


class PortInUseError(StartupError):
    """The address the server should listen on is taken (or not available to this user)."""
