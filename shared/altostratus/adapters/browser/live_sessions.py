"""Live browser sessions on one machine: a Chromium per session, owned by the server process.

Each session's Chromium listens for CDP on loopback only; every run of the session connects to
it and works in its default context, so tabs, pages and cookies stay from one run to the next.
Runs install the network guard when they connect, as for any browser reached over CDP.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from altostratus.adapters.browser.config import BASE_FLAGS, LaunchConfig
from altostratus.ports.session_browsers import CdpEndpoint, SessionBrowserError

log = logging.getLogger(__name__)
_START_TIMEOUT_S = 30.0


@dataclass
class _Live:
    process: subprocess.Popen[bytes]
    profile: Path
    url: str


class LiveChromiumSessions:
    """`SessionBrowsers` over Chromium processes this server starts."""

    name = "embedded"
    live = True

    def __init__(self, launch: LaunchConfig | None = None) -> None:
        self._launch = launch or LaunchConfig()
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        # Held while a browser starts, so two first uses of a session start one Chromium.
        self._start_lock = threading.Lock()

    def start(self, session_id: str) -> None:
        """Nothing yet: the Chromium starts when a run or a caller first needs it, so a session
        nobody uses costs no process."""

    def _launch_for(self, session_id: str) -> None:
        with self._lock:
            if session_id in self._live and self._live[session_id].process.poll() is None:
                return
        profile = Path(tempfile.mkdtemp(prefix="alto-session-", dir=self._launch.temp_root()))
        args = [
            self._launch.executable(),
            *BASE_FLAGS,
            *self._launch.extra_args,
            "--headless" if self._launch.headless else "--new-window",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        try:
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            shutil.rmtree(profile, ignore_errors=True)
            raise SessionBrowserError(f"could not start the session's browser: {exc.strerror}") from exc
        url = self._wait_for_port(process, profile)
        with self._lock:
            self._live[session_id] = _Live(process, profile, url)
        log.info("session %s: browser started (pid %s)", session_id, process.pid)

    def _wait_for_port(self, process: subprocess.Popen[bytes], profile: Path) -> str:
        marker = profile / "DevToolsActivePort"
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                lines = marker.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{int(lines[0])}{lines[1]}"
            time.sleep(0.05)
        _end(process)
        shutil.rmtree(profile, ignore_errors=True)
        raise SessionBrowserError("the session's browser did not start")

    def endpoint(self, session_id: str) -> CdpEndpoint | None:
        """The session's Chromium, started now if it is not running (first use, or a server
        restarted since: then the browser is a new one). Callers ask only for open sessions."""
        with self._start_lock:
            with self._lock:
                live = self._live.get(session_id)
            if live is None or live.process.poll() is not None:
                self._launch_for(session_id)
                with self._lock:
                    live = self._live.get(session_id)
        return CdpEndpoint(url=live.url) if live is not None else None

    def saved_state(self, session_id: str) -> dict[str, Any] | None:
        """Nothing: the browser itself stays up between runs."""
        return None

    def save_state(self, session_id: str, run_id: str, state: dict[str, Any]) -> None:
        """Nothing to keep: the next run finds the browser as this one left it."""

    def stop(self, session_id: str) -> None:
        with self._lock:
            live = self._live.pop(session_id, None)
        if live is None:
            return
        _end(live.process)
        shutil.rmtree(live.profile, ignore_errors=True)
        log.info("session %s: browser stopped", session_id)

    def close(self) -> None:
        with self._lock:
            ids = list(self._live)
        for session_id in ids:
            self.stop(session_id)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
