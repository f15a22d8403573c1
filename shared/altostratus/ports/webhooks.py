"""Sending a run's webhook again on request (retry_run_webhook)."""

from __future__ import annotations

from typing import Protocol

from altostratus.domain.view import RunView


class WebhookReplayer(Protocol):
    def replay(self, view: RunView, *, target_url: str | None) -> dict[str, object]:
        """Rebuild, sign and POST the run's webhook once, to `target_url` or the run's own
        webhook_url; the report of that attempt. Raises RequestRefusedError when it cannot be
        sent (no address, a refused address, no key left to sign with)."""
        ...
