"""`alto serve` refuses to start, in one line and exit code 2, rather than harm what runs: a
second server on the same data directory, a busy port, settings that cannot work."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from altostratus.domain import events as ev
from altostratus.domain.enums import RunStatus
from altostratus.runtimes.local import build_local
from altostratus.runtimes.settings import Settings
from tests.support.runs import created, d
from tests.support.server import alto_serve, free_port


def _serve(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "altostratus.cli.main", "serve", "--data-dir", str(data_dir), *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def _one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def test_a_second_server_on_the_same_data_directory_leaves_the_first_ones_runs_alone(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    # GIVEN a server whose run is executing (played here by appending RunStarted)
    with alto_serve(data_dir, api_only=True) as first:
        store = build_local(Settings(data_dir=data_dir))
        try:
            store.event_log.append("tsk_v2_live", [created("o_1"), d(ev.RunQueued()), d(ev.RunStarted())])
            # WHEN a second server starts on the same directory (and would recover its runs)
            second = _serve(data_dir, "--port", str(free_port()))
            # THEN it stops at once with one line naming the directory, and the run goes on
            line = _one_clear_line(second)
            assert "in use" in line and str(data_dir) in line
            view = store.event_log.get_view("tsk_v2_live")
            assert view is not None and view.status is RunStatus.RUNNING
            assert first.process.poll() is None
        finally:
            store.close()


def test_a_busy_port_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(tmp_path / "data", "--port", str(port))
    line = _one_clear_line(result)
    assert f"127.0.0.1:{port}" in line


def test_settings_that_cannot_work_are_refused_at_start(tmp_path: Path) -> None:
    result = _serve(
        tmp_path / "data",
        "--port",
        str(free_port()),
        env={"ALTO_SLICE_SECONDS": "10", "ALTO_STEP_RESERVE_SECONDS": "60"},
    )
    line = _one_clear_line(result)
    assert "ALTO_SLICE_SECONDS" in line and "ALTO_STEP_RESERVE_SECONDS" in line
    bad_number = _serve(tmp_path / "data", "--port", str(free_port()), env={"ALTO_MAX_STEPS_LIMIT": "0"})
    assert "ALTO_MAX_STEPS_LIMIT" in _one_clear_line(bad_number)
