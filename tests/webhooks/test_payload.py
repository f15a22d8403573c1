"""The webhook body and signatures, as pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altostratus.domain import events as ev
from altostratus.domain.enums import RunType
from altostratus.domain.view import RunView, fold
from altostratus.domain.webhook_payload import (
    compact_json,
    signed_headers,
    skyvern_signature,
    standard_signature,
    webhook_payload,
)
from tests.support.clock import FakeClock
from tests.support.runs import created, d

TEST_VECTOR_BODY = '{"run_id":"tsk_1","status":"completed","output":{"n":1,"s":"é"}}'
TEST_VECTOR_SIGNATURE = "b871e207f58c8729f3a1da7f166977baf4ca97b35c673b1d2642de1ad79db53f"


def test_the_signature_matches_the_api_md_test_vector() -> None:
    body = compact_json({"run_id": "tsk_1", "status": "completed", "output": {"n": 1.0, "s": "é"}})
    assert body == TEST_VECTOR_BODY
    assert skyvern_signature(body.encode(), "KEY") == TEST_VECTOR_SIGNATURE


def test_compact_json_keeps_non_ascii_writes_integral_floats_as_ints_and_drops_non_finite() -> None:
    payload = {"a": [1.0, 2.5, -0.0, 1e3], "b": "日本", "c": {"d": math.nan, "e": math.inf}, "f": True}
    assert compact_json(payload) == '{"a":[1,2.5,0,1000],"b":"日本","c":{"d":null,"e":null},"f":true}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_compact_json_round_trips_to_an_equal_value(value: object) -> None:
    assert json.loads(compact_json(value)) == value


def test_both_header_sets_verify_with_the_key_alone() -> None:
    body = TEST_VECTOR_BODY.encode()
    headers = signed_headers(body, key="alto_key", webhook_id="msg_tsk_1", timestamp=1_760_000_000)
    assert headers["x-skyvern-signature"] == hmac.new(b"alto_key", body, hashlib.sha256).hexdigest()
    assert headers["x-skyvern-timestamp"] == headers["webhook-timestamp"] == "1760000000"
    signed = b"msg_tsk_1.1760000000." + body
    expected = base64.b64encode(hmac.new(b"alto_key", signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert headers["webhook-id"] == "msg_tsk_1" and headers["Content-Type"] == "application/json"
    # the Standard Webhooks signature covers the id and the time: another id does not verify
    assert standard_signature("msg_other", 1_760_000_000, body, "alto_key") != headers["webhook-signature"]


def _finished_view(run_type: RunType | None = None) -> RunView:
    clock = FakeClock()
    drafts = [
        created(webhook_url="https://hooks.example.com/x", run_type=run_type),
        d(ev.RunStarted()),
        d(ev.RunCompleted(output={"total": 3.0})),
    ]
    events = [
        ev.Event(event_id=f"e{i}", run_id="tsk_1", seq=i, org_id="o_1", at=clock.now(), data=draft.data)
        for i, draft in enumerate(drafts, start=1)
    ]
    view = fold(events)
    assert view is not None
    return view


def test_the_body_is_the_run_response_merged_over_the_legacy_task_keys() -> None:
    view = _finished_view()
    run = {"run_id": "tsk_1", "status": "completed", "output": {"total": 3}, "screenshot_urls": ["u2", "u1"]}
    body = webhook_payload(run, view)
    assert body["task_id"] == "tsk_1" and body["extracted_information"] == {"total": 3}
    assert body["screenshot_url"] == "u2" and body["action_screenshot_urls"] == ["u2", "u1"]
    assert body["max_steps_per_run"] == view.max_steps
    # the run response's own keys win where both define one
    assert body["status"] == "completed" and body["output"] == {"total": 3}


def test_a_workflow_run_carries_the_legacy_workflow_keys() -> None:
    view = _finished_view(RunType.WORKFLOW_RUN)
    body = webhook_payload({"run_id": "tsk_1", "status": "completed", "output": {"a": 1}}, view)
    assert body["workflow_run_id"] == "tsk_1" and body["workflow_id"] == "wpid_1"
    assert body["outputs"] == {"a": 1} and body["webhook_callback_url"] == "https://hooks.example.com/x"


def test_the_body_never_carries_the_request() -> None:
    with pytest.raises(ValueError, match="run_request"):
        webhook_payload({"run_id": "tsk_1", "run_request": {"prompt": "x"}}, _finished_view())
