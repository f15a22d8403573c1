"""Sending CDP commands with large answers (DOM snapshots, accessibility trees) cheaply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import CDPSession


async def send_large(
    session: CDPSession, method: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`CDPSession.send` without the public wrapper's walk over the answer.

    Playwright's async API passes every result through `from_maybe_impl`, which visits each
    list and dict to swap internal objects for public ones. A CDP answer holds none, but a DOM
    snapshot holds hundreds of thousands of values, and that walk took longer than Chromium
    took to make the snapshot. `_impl_obj` is what the public object wraps (pinned Playwright);
    without it this falls back to the public call.
    """
    impl = getattr(session, "_impl_obj", None)
    if impl is None:
        return await session.send(method, params)
    result: dict[str, Any] = await impl.send(method=method, params=params, timeout=None)
    return result
