"""Chromium renders untrusted pages: it is launched without the credentials in the function's
environment (on Lambda: the role's AWS keys), read back from the running processes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from altostratus.adapters.browser import BrowserRuntime, LaunchConfig
from altostratus.security.targets import TargetPolicy

pytestmark = pytest.mark.browser

CANARY = "canary-secret-4242"


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def _parent(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[1])


def _descendants(root: int) -> list[int]:
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    out = []
    for pid in pids:
        ancestor = pid
        while ancestor > 1:
            ancestor = _parent(ancestor)
            if ancestor == root:
                out.append(pid)
                break
    return out


@pytest.mark.parametrize("lambda_mode", [False, True], ids=["desktop", "lambda"])
def test_chromium_does_not_inherit_aws_credentials_or_model_keys(
    monkeypatch: pytest.MonkeyPatch, lambda_mode: bool
) -> None:
    for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "ANTHROPIC_API_KEY", "ALTO_MASTER_KEY"):
        monkeypatch.setenv(name, CANARY)

    async def launch_and_look() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        config = LaunchConfig(lambda_mode=lambda_mode)
        runtime = await BrowserRuntime.start(config, policy=TargetPolicy.parse("", allow_loopback=True))
        try:
            me = os.getpid()
            mine = _descendants(me)
            browsers = [_environ(p) for p in mine if b"--remote-debugging-pipe" in _cmdline(p)]
            others = [_environ(p) for p in mine if b"--remote-debugging-pipe" not in _cmdline(p)]
            return browsers, others
        finally:
            await runtime.close()

    browsers, others = asyncio.run(launch_and_look())
    assert browsers, "no Chromium process found"
    # Control: the Playwright driver (started with this process's environment) has them.
    assert any(env.get("AWS_SECRET_ACCESS_KEY") == CANARY for env in others)
    for env in browsers:
        assert CANARY not in env.values(), sorted(k for k, v in env.items() if v == CANARY)
        assert "PATH" in env
        if lambda_mode:
            assert env["HOME"] == "/tmp" and env["TMPDIR"] == "/tmp"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
