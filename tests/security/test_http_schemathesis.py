"""Schemathesis against the embedded server's ASGI app, in-process: every operation in
/openapi.json, with valid and invalid data, with a valid key, without a key and with a wrong
one. No answer may be a 5xx, carry a status the document does not list, or break its schema.

Runs are seeded (a finished run with every kind of artifact and a webhook to a local
receiver) and generated cases sometimes name them, so the 200 paths are exercised too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from altostratus.runtimes.http_server import ApiAsgiApp
from altostratus.runtimes.local import LocalRuntime, build_local
from altostratus.runtimes.settings import Settings
from tests.support.http_security import SeededRun, seed_run
from tests.support.webhook_receiver import WebhookReceiver, running

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
# Per operation and generation mode: about 2 x 10 operations x 3 ways x this many requests.
EXAMPLES = 30
URL_FIELDS = ("webhook_url", "totp_url")
AUTH_HEADERS = {"x-api-key", "authorization"}


@dataclass
class Fuzz:
    runtime: LocalRuntime
    key: str
    run: SeededRun
    receiver: WebhookReceiver


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    with running(WebhookReceiver()) as receiver:
        data_dir = tmp_path_factory.mktemp("alto-fuzz")
        runtime = build_local(Settings(data_dir=data_dir, allowed_targets="127.0.0.1"))
        try:
            key = runtime.ensure_dev_key()
            assert key is not None
            caller = runtime.keys.authenticate(key)
            assert caller is not None
            run = seed_run(
                runtime.event_log,
                runtime.artifacts,
                org_id=caller.org_id,
                run_id=f"tsk_v2_{runtime.ids.number()}",
                number=runtime.ids.number,
                webhook_url=receiver.url,
                api_key_id=caller.key_id,
            )
            runtime.artifacts.public_base_url = "http://testserver"
            yield Fuzz(runtime=runtime, key=key, run=run, receiver=receiver)
        finally:
            runtime.close()


def _point_at_seeded_data(fuzz: Fuzz, case: Any, data: st.DataObject) -> None:
    """Sometimes name the seeded run or artifact (and a valid signed link), so generated cases
    also reach the answers for things that exist."""
    params = case.path_parameters or {}
    if "run_id" in params and data.draw(st.booleans()):
        params["run_id"] = fuzz.run.run_id
    if "artifact_id" in params and data.draw(st.booleans()):
        artifact = fuzz.run.artifacts[data.draw(st.sampled_from(sorted(fuzz.run.artifacts)))]
        params["artifact_id"] = artifact.artifact_id
        if isinstance(case.query, dict) and "signature" in case.query and data.draw(st.booleans()):
            link = fuzz.runtime.artifacts.signed_url("local://unused", artifact_id=artifact.artifact_id)
            case.query.update(dict(parse_qsl(urlsplit(link).query)))
    # Webhooks go to the local receiver only: never let a generated address be called.
    if isinstance(case.body, dict):
        for field in URL_FIELDS:
            if isinstance(case.body.get(field), str):
                case.body[field] = fuzz.receiver.url


def _exerciser(
    fuzz: Fuzz,
    operation: Any,
    mode: GenerationMode,
    auth: dict[str, str],
    failures: list[str],
    seen: set[tuple[str, int]],
) -> Any:
    label = operation.label

    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: Any, data: st.DataObject) -> None:
        _point_at_seeded_data(fuzz, case, data)
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() not in AUTH_HEADERS}
        case.headers = {**sent, **auth}
        try:
            response = case.call_and_validate(checks=CHECKS)
        except FailureGroup as group:
            failures.extend(f"{label}: {f.title}: {f.message[:300]}" for f in group.exceptions)
            return
        except AssertionError as error:
            failures.append(f"{label}: {error}"[:400])
            return
        seen.add((label, response.status_code))

    return exercise


def _run_every_operation(fuzz: Fuzz, auth: dict[str, str]) -> tuple[list[str], set[tuple[str, int]]]:
    failures: list[str] = []
    seen: set[tuple[str, int]] = set()
    # A fresh app per run: the schemathesis client ends an app's lifespan when its test ends.
    app = ApiAsgiApp(fuzz.runtime.api(), max_body_bytes=fuzz.runtime.settings.max_body_bytes, workers=2)
    # The routes that answer only 501 are called one by one in test_http_not_implemented.py.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(tag="not implemented")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 31
    for operation in operations:
        raw = operation.definition.raw
        # An operation with no parameters and no body has nothing to send invalid.
        takes_input = bool(raw.get("parameters") or raw.get("requestBody"))
        for mode in (
            (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if takes_input else (GenerationMode.POSITIVE,)
        ):
            _exerciser(fuzz, operation, mode, auth, failures, seen)()
    return failures, seen


@pytest.mark.slow
@pytest.mark.parametrize("way", ["valid key", "no key", "wrong key"])
def test_no_operation_answers_a_server_error_or_an_undocumented_status(fuzz: Fuzz, way: str) -> None:
    auth = {"valid key": {"x-api-key": fuzz.key}, "no key": {}, "wrong key": {"x-api-key": "alto_wrong"}}[way]
    failures, seen = _run_every_operation(fuzz, auth)
    assert failures == [], "\n".join(sorted(set(failures)))
    statuses = {status for _, status in seen}
    if way == "valid key":
        # The seeded data made the fuzzer reach real answers, not only refusals.
        ok = {label for label, status in seen if status == 200}
        assert {
            "GET /v1/runs/{run_id}",
            "GET /v1/runs/{run_id}/timeline",
            "GET /v1/artifacts/{artifact_id}",
            "GET /v1/artifacts/{artifact_id}/content",
            "POST /v1/runs/{run_id}/retry_webhook",
            "POST /v1/run/tasks",
            "POST /v1/credentials/totp",
        } <= ok, sorted(seen)
        assert {400, 404, 422} <= statuses
    else:
        # Every authenticated operation refuses; only a signed link opens artifact bytes, and
        # the version is public.
        assert 403 in statuses
        assert {s for label, s in seen if "content" not in label and label != "GET /v1/version"} == {403}
