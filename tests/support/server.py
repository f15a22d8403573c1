"""Runs `alto serve` as a real process for tests that talk to it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    base_url: str
    data_dir: Path
    process: subprocess.Popen[str]
    # The whole output, once the server has stopped.
    output: list[str]
    # The output lines so far, while it runs.
    lines: list[str] = field(default_factory=list)


def alto(*args: str, data_dir: Path, env: dict[str, str] | None = None) -> str:
    """Runs an `alto` command to completion; returns its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "altostratus.cli.main", *args, "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    return result.stdout


@contextmanager
def alto_serve(
    data_dir: Path, *, env: dict[str, str] | None = None, api_only: bool = False
) -> Iterator[RunningServer]:
    """`alto serve` on a free port; `api_only` leaves submitted runs queued (no executor)."""
    port = free_port()
    flags = ["--api-only"] if api_only else []
    command = [sys.executable, "-m", "altostratus.cli.main", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    lines: list[str] = []
    server = RunningServer(f"http://127.0.0.1:{port}", data_dir, process, [], lines)
    # Read the output as it comes: a server logging every request would otherwise fill the
    # pipe and block on its next line.
    reader = threading.Thread(target=_drain, args=(process, lines), daemon=True, name="alto-serve-output")
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                reader.join(timeout=10)
                raise RuntimeError("alto serve exited early:\n" + "".join(lines))
            try:
                if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("alto serve did not answer /health within 30 s")
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)
        server.output.append("".join(lines))


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
