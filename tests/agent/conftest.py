"""Fixtures of the agent tests: the fake Messages server and the engine's wiring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.harness import Harness, make_harness
from tests.fakes.anthropic_server import FakeAnthropicServer, HttpError, MessagesRequest


def _unset_policy(request: MessagesRequest) -> HttpError:
    return HttpError(500, "api_error", "the test set no policy")


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(_unset_policy) as srv:
        yield srv


@pytest.fixture
def harness(tmp_path: Path, server: FakeAnthropicServer) -> Iterator[Harness]:
    h = make_harness(tmp_path, server)
    yield h
    h.close()
