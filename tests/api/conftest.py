from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.api_client import ApiClient
from tests.support.runs import assert_every_view_is_its_fold


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    rt = build_local(
        Settings(data_dir=tmp_path / "data", proxy_locations={"RESIDENTIAL_GB": "http://127.0.0.1:1"})
    )
    yield rt
    assert_every_view_is_its_fold(rt.db, rt.event_log)
    rt.close()


@pytest.fixture
def client(runtime: LocalRuntime) -> ApiClient:
    key = runtime.ensure_dev_key()
    return ApiClient(runtime.api(), key)
