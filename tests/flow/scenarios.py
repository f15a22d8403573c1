"""One table of orchestration scenarios, played on the embedded runner and on Step Functions
(moto) alike: each gives the same request, the same scripted model and the same fault."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from altostratus.adapters.browser.errors import BrowserCrashedError, LaunchError
from altostratus.domain.run_request import RunTaskRequest
from altostratus.domain.view import RunView
from altostratus.ports.browser import BrowserProvider, OpenBrowser
from tests.agent.scenarios import AGENT_PAGES, DOWNLOAD, EXTRACTION, FORM, LINKS, Scenario
from tests.fakes.anthropic_server import MessagesRequest, Reply
from tests.support.fixture_site import FixtureSite


class FaultyBrowsers:
    """Wraps the real provider: the first `crashes` opens fail as a crashed browser would;
    `unlaunchable` makes every open fail as Chromium failing to start."""

    def __init__(
        self,
        inner: BrowserProvider,
        *,
        crashes: int = 0,
        unlaunchable: bool = False,
        crash_on_action: int | None = None,
    ) -> None:
        self.inner = inner
        self.crashes = crashes
        self.unlaunchable = unlaunchable
        # The browser dies in the middle of the Nth action executed (counted over every open).
        self.crash_on_action = crash_on_action
        self.actions = 0
        self.opened = 0

    @asynccontextmanager
    async def open(
        self, view: RunView, request: RunTaskRequest, restore: dict[str, Any] | None
    ) -> AsyncIterator[OpenBrowser]:
        self.opened += 1
        if self.unlaunchable:
            raise LaunchError("Chromium exited before it was ready (simulated)")
        if self.opened <= self.crashes:
            raise BrowserCrashedError("the browser process died (simulated)")
        async with self.inner.open(view, request, restore) as browser:
            yield browser if self.crash_on_action is None else _CrashingBrowser(browser, self)

    async def close(self) -> None:
        await self.inner.close()


class _CrashingBrowser:
    """The opened browser, whose agent side dies at the provider's chosen action."""

    def __init__(self, opened: OpenBrowser, provider: FaultyBrowsers) -> None:
        self._opened = opened
        self.agent = _CrashingAgent(opened.agent, provider)

    async def export_state(self) -> dict[str, Any]:
        return await self._opened.export_state()


class _CrashingAgent:
    def __init__(self, inner: Any, provider: FaultyBrowsers) -> None:
        self._inner = inner
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def execute(self, tool: str, params: dict[str, Any]) -> Any:
        self._provider.actions += 1
        if self._provider.actions == self._provider.crash_on_action:
            raise BrowserCrashedError("the browser process died mid-slice (simulated)")
        return await self._inner.execute(tool, params)


@dataclass(frozen=True)
class FlowScenario:
    name: str
    task: Scenario
    expected_status: str
    extra_request: dict[str, Any] = field(default_factory=dict)
    crashes: int = 0
    unlaunchable: bool = False
    crash_on_action: int | None = None
    # The user cancels (through the API) when the model is asked for its Nth turn.
    cancel_on_turn: int | None = None
    reason_contains: str | None = None
    # How many runs of the request are submitted one after the other, and the organization's
    # cap on runs executing at once (None: the default cap).
    runs: int = 1
    max_running_per_org: int | None = None
    # Other settings of both runtimes (e.g. short slices), by Settings field name.
    settings: dict[str, Any] = field(default_factory=dict)
    # The names of the files the run downloads, as its downloaded_files list them.
    downloads: tuple[str, ...] = ()

    def request(self, site: FixtureSite) -> dict[str, Any]:
        return {
            "prompt": self.task.prompt,
            "url": site.url(f"/{AGENT_PAGES}/{self.task.start}"),
            **self.task.request,
            **self.extra_request,
        }

    def faults(self, inner: BrowserProvider) -> FaultyBrowsers:
        return FaultyBrowsers(
            inner, crashes=self.crashes, unlaunchable=self.unlaunchable, crash_on_action=self.crash_on_action
        )

    def policy(self, cancel: Callable[[], None]) -> Callable[[MessagesRequest], Any]:
        policy = self.task.policy()
        if self.cancel_on_turn is None:
            return policy
        turns = {"n": 0}

        def canceling(request: MessagesRequest) -> Reply | Any:
            if request.forced_tool is None:
                turns["n"] += 1
                if turns["n"] == self.cancel_on_turn:
                    cancel()
            return policy(request)

        return canceling


SCENARIOS = [
    FlowScenario("completes with structured output", EXTRACTION, "completed"),
    FlowScenario("canceled mid-run", FORM, "canceled", cancel_on_turn=2),
    FlowScenario("browser crash retried, then completes", LINKS, "completed", crashes=1),
    FlowScenario(
        "browser crash mid-slice: resumed after the last completed step",
        LINKS,
        "completed",
        crash_on_action=2,
    ),
    FlowScenario(
        "browser cannot start: failed with a reason",
        LINKS,
        "failed",
        unlaunchable=True,
        reason_contains="browser could not be started",
    ),
    FlowScenario(
        "max_steps reached: timed out",
        LINKS,
        "timed_out",
        extra_request={"max_steps": 1},
        reason_contains="maximum steps (1)",
    ),
    FlowScenario(
        "downloads a file, listed with a link to its bytes", DOWNLOAD, "completed", downloads=("report.csv",)
    ),
    FlowScenario(
        "organization cap 1: the second run waits queued until the first ends",
        EXTRACTION,
        "completed",
        runs=2,
        max_running_per_org=1,
    ),
]
SCENARIO_IDS = [s.name for s in SCENARIOS]
