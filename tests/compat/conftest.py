"""The official Skyvern SDK (skyvern==1.0.56) against a real `alto serve` process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from skyvern.client import Skyvern as SkyvernClient

from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.runs import assert_every_view_is_its_fold
from tests.support.server import RunningServer, alto, alto_serve


@dataclass
class Compat:
    server: RunningServer
    key: str
    other_key: str
    store: LocalRuntime  # the same data directory, for driving runs by appending events

    def client(self, key: str | None = None) -> SkyvernClient:
        return SkyvernClient(base_url=self.server.base_url, api_key=key or self.key, timeout=30)


@pytest.fixture(scope="module")
def compat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Compat]:
    data_dir: Path = tmp_path_factory.mktemp("alto-compat")
    key = alto("keys", "create", "--org", "compat", data_dir=data_dir).strip()
    other_key = alto("keys", "create", "--org", "someone-else", data_dir=data_dir).strip()
    # API only: these tests play the executor by appending its events to the runs they submit.
    with alto_serve(data_dir, api_only=True) as server:
        store = build_local(Settings(data_dir=data_dir))
        try:
            yield Compat(server=server, key=key, other_key=other_key, store=store)
            # Every run these tests created or drove: the stored view is the fold of its log.
            assert assert_every_view_is_its_fold(store.db, store.event_log) > 0
        finally:
            store.close()
