"""The embedded server's listing gives way: a listing starts only once the other requests being
resolved have finished (or after a bounded wait), and rests after each listing in proportion."""

from __future__ import annotations

import threading

import pytest

from altostratus.runtimes import http_server
from altostratus.runtimes.http_server import ListingTurns


def test_a_listing_waits_for_the_requests_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "LISTING_MAX_WAIT_S", 30.0)
    turns = ListingTurns()
    started = threading.Event()
    order: list[str] = []

    def list_runs() -> None:
        started.set()
        with turns.listing():
            order.append("listing")

    with turns.other_request():
        lister = threading.Thread(target=list_runs)
        lister.start()
        assert started.wait(5)
        lister.join(0.2)
        assert lister.is_alive() and order == []  # still waiting its turn
        order.append("get_run")
    lister.join(5)
    assert order == ["get_run", "listing"]


def test_a_listing_waits_no_longer_than_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_server, "LISTING_MAX_WAIT_S", 0.05)
    turns = ListingTurns()
    with turns.other_request():
        done = threading.Event()

        def list_runs() -> None:
            with turns.listing():
                done.set()

        threading.Thread(target=list_runs).start()
        # Listed although the other request is still being resolved: listing is never starved.
        assert done.wait(5)
