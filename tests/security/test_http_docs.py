"""Swagger UI on `alto serve`, in real Chromium: it renders under its Content-Security-Policy,
Authorize takes an API key, and "Try it out" then calls the API with it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.async_api import Locator

from altostratus.adapters.browser import BrowserRuntime
from tests.support.http_security import SeededServer, seeded_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededServer]:
    with seeded_server(tmp_path_factory.mktemp("alto-http-docs")) as seeded:
        yield seeded


async def _status_after_execute(operation: Locator, previous: str | None) -> str:
    await operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    await status.wait_for(timeout=10_000)
    for _ in range(100):
        text = (await status.inner_text()).strip()
        if text and text != previous:
            return text
        await asyncio.sleep(0.1)
    return text


def test_swagger_authorize_then_try_it_out_calls_the_api_with_the_key(
    served: SeededServer, runtime: BrowserRuntime, browser_loop: asyncio.AbstractEventLoop
) -> None:
    async def scenario() -> tuple[str, str, list[str]]:
        context = await runtime.browser.new_context()
        problems: list[str] = []
        try:
            page = await context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{served.base_url}/docs")
            operation = page.locator("#operations-runs-get_run")
            await operation.wait_for(timeout=15_000)
            await operation.locator(".opblock-summary").click()
            await operation.locator("button.try-out__btn").click()
            await operation.locator("input[placeholder='run_id']").fill(served.run.run_id)
            # Without a key the API refuses ...
            refused = await _status_after_execute(operation, None)
            # ... then Authorize with the x-api-key scheme, and the same call succeeds.
            await page.locator("button.authorize").first.click()
            scheme = page.locator(".auth-container").filter(has_text="ApiKeyHeader")
            await scheme.locator("input").fill(served.key)
            await scheme.locator("button.authorize").click()
            await page.locator("button.btn-done").first.click()
            allowed = await _status_after_execute(operation, refused)
            return refused, allowed, problems
        finally:
            await context.close()

    refused, allowed, problems = browser_loop.run_until_complete(scenario())
    assert refused == "403"
    assert allowed == "200"
    # The 403 is logged by the page as a failed load; nothing else went wrong, and the
    # Content-Security-Policy blocked nothing the page needs.
    assert [p for p in problems if "403" not in p] == []
