"""Downloads: every file a page downloads is saved into the run's download folder.

Each download is recorded as soon as it starts (so the agent hears "download started" instead
of clicking again), then saved with its size and SHA-256. A second download of the same bytes
from the same URL is marked as a duplicate of the first (one click, two files: Skyvern #6514).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

from altostratus.adapters.browser.effects import DownloadInfo

if TYPE_CHECKING:
    from playwright.async_api import Download, Page

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", Path(name).name).strip(" .") or "download"
    return cleaned[:180]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DownloadTracker:
    """Saves the downloads of watched pages into `folder` and keeps their records in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._records: list[DownloadInfo] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self.changed = asyncio.Event()

    def watch(self, page: Page) -> None:
        page.on("download", self._on_download)

    @property
    def records(self) -> list[DownloadInfo]:
        return list(self._records)

    @property
    def finished(self) -> list[DownloadInfo]:
        return [r for r in self._records if r.state == "finished"]

    def marker(self) -> int:
        """A position to ask `since` about later (records are updated in place as they finish)."""
        return len(self._records)

    def since(self, marker: int) -> list[DownloadInfo]:
        """Downloads started after `marker` (see `marker`), in their latest state."""
        return self._records[marker:]

    def _on_download(self, download: Download) -> None:
        record = DownloadInfo(
            id=f"d{next(self._ids)}",
            url=download.url,
            filename=_safe_name(download.suggested_filename),
            state="started",
        )
        self._records.append(record)
        self.changed.set()
        task = asyncio.ensure_future(self._save(len(self._records) - 1, download))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _save(self, index: int, download: Download) -> None:
        record = self._records[index]
        try:
            failure = await download.failure()
            if failure:
                self._records[index] = record.model_copy(update={"state": "failed", "error": failure})
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self._free_path(record.filename)
            await download.save_as(target)
            size = target.stat().st_size
            digest = await asyncio.get_running_loop().run_in_executor(None, _sha256, target)
            duplicate = next(
                (r.id for r in self._records[:index] if r.sha256 == digest and r.url == record.url), None
            )
            self._records[index] = record.model_copy(
                update={
                    "state": "finished",
                    "path": str(target),
                    "filename": target.name,
                    "size": size,
                    "sha256": digest,
                    "duplicate_of": duplicate,
                }
            )
        except (PlaywrightError, OSError) as exc:
            log.warning("download %s failed: %s", record.url, exc)
            self._records[index] = record.model_copy(update={"state": "failed", "error": str(exc)[:200]})
        finally:
            self.changed.set()

    def _free_path(self, name: str) -> Path:
        candidate = self.folder / name
        stem, suffix = candidate.stem, candidate.suffix
        for n in itertools.count(2):
            if not candidate.exists():
                return candidate
            candidate = self.folder / f"{stem} ({n}){suffix}"
        raise AssertionError("unreachable")

    @property
    def pending(self) -> bool:
        return any(r.state == "started" for r in self._records)

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no download is in progress; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.changed.clear()
            if not self.pending:
                break
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return False
        return True
