"""How long a run over its organization's cap waits in the state machine before asking again:
the first in line asks soon, those far back or waiting for hours seldom (each ask is billed
state transitions, and an execution's history is bounded)."""

from __future__ import annotations

from datetime import timedelta

from altostratus.orchestration.admission import MAX_RETRY_SECONDS, Admission
from altostratus.ports.run_slots import SlotAnswer
from tests.support.clock import FakeClock


def test_the_wait_grows_with_the_place_in_line_and_the_time_waited() -> None:
    clock = FakeClock()
    admission = Admission(max_running_per_org=2, retry_seconds=10, clock=clock)
    submitted = clock.now()
    assert admission.wait_seconds(SlotAnswer(admitted=False, ahead=0), submitted) == 10
    assert admission.wait_seconds(SlotAnswer(admitted=False, ahead=4), submitted) == 50
    assert admission.wait_seconds(SlotAnswer(admitted=False, ahead=100), submitted) == MAX_RETRY_SECONDS
    clock.advance(timedelta(hours=2))
    assert admission.wait_seconds(SlotAnswer(admitted=False, ahead=0), submitted) == 120
    clock.advance(timedelta(days=3))
    assert admission.wait_seconds(SlotAnswer(admitted=False, ahead=0), submitted) == MAX_RETRY_SECONDS


def test_without_a_cap_or_a_store_every_run_is_admitted() -> None:
    since = FakeClock().now()
    assert Admission().admit("o_1", "r1", since).admitted
    assert Admission(max_running_per_org=0).admit("o_1", "r1", since).admitted
