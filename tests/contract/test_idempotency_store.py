"""Idempotency records (Powertools' persistence layers): the SQLite layer of the embedded
runtime behaves like the DynamoDB one the API uses on AWS (moto), as run submission needs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from altostratus.adapters.sqlite_db import SQLiteDatabase
from altostratus.adapters.sqlite_idempotency import SQLitePersistenceLayer
from tests.support.aws import moto_aws
from tests.support.functions import FakeLambdaContext

_names = itertools.count()


@pytest.fixture(params=["sqlite", "dynamodb"])
def layer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], BasePersistenceLayer]]:
    if request.param == "sqlite":
        db = SQLiteDatabase(tmp_path / "alto.db")
        yield lambda: SQLitePersistenceLayer(db)
        db.close()
    else:
        with moto_aws() as aws:
            yield lambda: DynamoDBPersistenceLayer(
                table_name=aws.state_table,
                key_attr="pk",
                sort_key_attr="sk",
                static_pk_value="idempotency#test",
            )


def _submitter(layer: BasePersistenceLayer, body: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    # One persistence layer per decorated function, as Powertools requires.
    config = IdempotencyConfig(
        event_key_jmespath="[org_id, idempotency_key]",
        payload_validation_jmespath="request",
        use_local_cache=False,
    )
    # What the API registers outside Lambda too: the time an interrupted call keeps its key.
    config.register_lambda_context(FakeLambdaContext())
    return idempotent_function(
        data_keyword_argument="command", persistence_store=layer, config=config, key_prefix=f"f{next(_names)}"
    )(body)


def test_the_same_key_and_payload_runs_once_and_returns_the_first_result(
    layer: Callable[[], BasePersistenceLayer],
) -> None:
    calls: list[dict[str, Any]] = []
    submit = _submitter(layer(), lambda command: calls.append(command) or {"run_id": f"tsk_{len(calls)}"})
    command = {"org_id": "o_1", "idempotency_key": "k", "request": {"prompt": "buy"}}
    assert submit(command=command) == {"run_id": "tsk_1"}
    assert submit(command=command) == {"run_id": "tsk_1"}
    assert len(calls) == 1
    other_org = {**command, "org_id": "o_2"}
    assert submit(command=other_org) == {"run_id": "tsk_2"}


def test_the_same_key_with_another_payload_is_refused(layer: Callable[[], BasePersistenceLayer]) -> None:
    submit = _submitter(layer(), lambda command: {"run_id": "tsk_1"})
    submit(command={"org_id": "o_1", "idempotency_key": "k", "request": {"prompt": "buy"}})
    with pytest.raises(IdempotencyValidationError):
        submit(command={"org_id": "o_1", "idempotency_key": "k", "request": {"prompt": "sell"}})


def test_a_key_still_in_progress_is_refused_and_a_failed_call_can_be_retried(
    layer: Callable[[], BasePersistenceLayer],
) -> None:
    command = {"org_id": "o_1", "idempotency_key": "k", "request": {"prompt": "buy"}}
    attempts: list[str] = []

    def body(command: dict[str, Any]) -> dict[str, Any]:
        attempts.append("x")
        if len(attempts) == 1:
            with pytest.raises(IdempotencyAlreadyInProgressError):
                submit(command=command)  # the same request arriving while the first is still running
            raise RuntimeError("the first attempt fails")
        return {"run_id": "tsk_2"}

    submit = _submitter(layer(), body)
    with pytest.raises(RuntimeError):
        submit(command=command)
    # The failure released the key: a retry runs and its result is kept.
    assert submit(command=command) == {"run_id": "tsk_2"}
    assert submit(command=command) == {"run_id": "tsk_2"}
    assert len(attempts) == 2
