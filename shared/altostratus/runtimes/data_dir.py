"""The embedded runtime's data directory: private to its owner, used by one server at a time.

Runs, keys, sealed requests and artifacts live there, so the directory is created 0700 and
its files 0600. `alto serve` holds an exclusive lock on it for its whole life: a second
server on the same directory must not recover (and so fail) the first one's live runs.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from altostratus.runtimes.startup_errors import DataDirBusyError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
LOCK_FILE = "serve.lock"


def prepare(path: Path) -> None:
    """Create the directory (and its parents) readable by the owner only; an existing one is
    made private too."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)


class DataDirLock:
    """An exclusive, non-blocking lock on a data directory; released when the process ends,
    however it ends (the kernel drops it with the file descriptor)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DataDirBusyError(
                f"the data directory {self.path.parent} is in use by alto serve (pid {holder}); "
                "stop it first or use another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
