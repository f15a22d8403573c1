"""The AWS runtime's composition root: DynamoDB, S3, Secrets Manager, Step Functions.

Every client is plain boto3 with no endpoint in code, so the same code runs on AWS and, in
tests, against moto.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from altostratus.adapters.dynamodb_event_log import DynamoDBEventLog
from altostratus.adapters.dynamodb_rate_limiter import DynamoDBRateLimiter
from altostratus.adapters.dynamodb_run_slots import DynamoDBRunSlots
from altostratus.adapters.key_stores import DynamoDBKeyStore
from altostratus.adapters.s3_artifacts import S3ArtifactStore
from altostratus.adapters.sealing import Sealer, decode_master_key
from altostratus.adapters.sfn_orchestrator import StepFunctionsOrchestrator
from altostratus.api.app import build_api
from altostratus.api.resolver import AltoResolver
from altostratus.api.services import ApiServices
from altostratus.domain.ids import IdFactory
from altostratus.orchestration.admission import Admission
from altostratus.orchestration.handlers import AgentSlices, RunLifecycle, SliceBudget
from altostratus.ports.clock import Clock, SystemClock
from altostratus.runtimes.admission import build_admission
from altostratus.runtimes.api_options import api_config, rate_limit, submission_checks
from altostratus.runtimes.integrations import (
    build_deliverer,
    build_queue_delivery,
    build_stream_publisher,
    wire_api,
)
from altostratus.runtimes.settings import Settings
from altostratus.webhooks import QueueDelivery, WebhookDeliverer

if TYPE_CHECKING:
    from altostratus.publishing import StreamPublisher


def master_key(settings: Settings) -> bytes:
    if settings.master_key is not None:
        return decode_master_key(settings.master_key.get_secret_value())
    if settings.master_key_secret_arn is None:
        raise RuntimeError("set ALTO_MASTER_KEY_SECRET_ARN (or ALTO_MASTER_KEY) to seal API keys")
    # Cached for the life of the execution environment; rotated keys apply at the next cold start.
    value = parameters.get_secret(settings.master_key_secret_arn, max_age=3600)
    return decode_master_key(str(value))


@dataclass
class AwsRuntime:
    settings: Settings
    event_log: DynamoDBEventLog
    artifacts: S3ArtifactStore
    keys: DynamoDBKeyStore
    services: ApiServices
    ids: IdFactory
    clock: Clock
    clients: dict[str, Any]
    webhooks: WebhookDeliverer | None = None  # issue 6

    def api(self) -> AltoResolver:
        return build_api(self.services)


def build_aws(settings: Settings, *, clock: Clock | None = None) -> AwsRuntime:
    clock = clock or SystemClock()
    ids = IdFactory()
    ddb = boto3.client("dynamodb")
    s3 = boto3.client("s3")
    event_log = DynamoDBEventLog(
        ddb, events_table=settings.events_table, state_table=settings.state_table, clock=clock
    )
    artifacts = S3ArtifactStore(s3, bucket=settings.artifacts_bucket)
    sealer = Sealer(master_key(settings))
    keys = DynamoDBKeyStore(ddb, state_table=settings.state_table, sealer=sealer, ids=ids, clock=clock)
    idempotency = DynamoDBPersistenceLayer(
        table_name=settings.state_table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="idempotency#run_task",
        boto3_client=ddb,
    )
    limit = rate_limit(settings)
    services = ApiServices(
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        idempotency=idempotency,
        ids=ids,
        clock=clock,
        secret_box=sealer,
        config=api_config(settings, cache_keys=True),
        submission_checks=submission_checks(settings),
        # In the state table, so the limit holds across every instance of the api function.
        rate_limiter=(
            DynamoDBRateLimiter(ddb, state_table=settings.state_table, limit=limit, clock=clock)
            if limit
            else None
        ),
    )
    if settings.state_machine_arn:
        services.orchestrator = StepFunctionsOrchestrator(
            boto3.client("stepfunctions"), state_machine_arn=settings.state_machine_arn
        )
    # Issue 6: retry_run_webhook and the address check of callback URLs at submission.
    webhooks = build_deliverer(
        settings, event_log=event_log, keys=keys, artifacts=artifacts, clock=clock, secret_box=sealer
    )
    wire_api(services, webhooks)
    return AwsRuntime(
        settings=settings,
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        services=services,
        ids=ids,
        clock=clock,
        clients={"dynamodb": ddb, "s3": s3},
        webhooks=webhooks,
    )


@cache
def runtime() -> AwsRuntime:
    """One runtime per Lambda execution environment, built on first use (the cold start)."""
    return build_aws(Settings(runtime="aws"))


def _event_log(settings: Settings) -> DynamoDBEventLog:
    return DynamoDBEventLog(
        boto3.client("dynamodb"),
        events_table=settings.events_table,
        state_table=settings.state_table,
        clock=SystemClock(),
    )


def _admission(settings: Settings) -> Admission:
    clock = SystemClock()
    slots = DynamoDBRunSlots(boto3.client("dynamodb"), state_table=settings.state_table, clock=clock)
    return build_admission(settings, slots, clock)


@cache
def lifecycle() -> RunLifecycle:
    """Start run, Finish run and Record failure need only the event log and the run slots."""
    settings = Settings(runtime="aws")
    return RunLifecycle(_event_log(settings), _admission(settings))


@cache
def agent_slices() -> AgentSlices:
    """agent_step: the agent, the bucket, the model key and Chromium (the image has it; the
    zip functions' layer does not, so the browser is imported here only)."""
    from altostratus.runtimes.browsers import BROWSER_GONE, RecordedBrowsers, browser_provider
    from altostratus.runtimes.engine import agent_deps, recording_sink

    settings = Settings(runtime="aws")
    event_log = _event_log(settings)
    deps = agent_deps(
        settings,
        event_log=event_log,
        artifacts=S3ArtifactStore(boto3.client("s3"), bucket=settings.artifacts_bucket),
        ids=IdFactory(),
        clock=SystemClock(),
        api_key=anthropic_key(settings),
        secret_box=Sealer(master_key(settings)),
    )
    return AgentSlices(
        agent=deps,
        browsers=RecordedBrowsers(browser_provider(settings, embedded=False), recording_sink(settings, deps)),
        budget=SliceBudget(slice_seconds=settings.slice_seconds),
        browser_gone=BROWSER_GONE,
        admission=_admission(settings),
    )


def anthropic_key(settings: Settings) -> str | None:
    if settings.anthropic_api_key is not None:
        return settings.anthropic_api_key.get_secret_value()
    if not settings.anthropic_api_key_secret_arn:
        return None
    # An empty secret (the template creates one for the operator to fill) means no key yet:
    # runs then fail with a reason that says so.
    try:
        value = parameters.get_secret(settings.anthropic_api_key_secret_arn, max_age=300)
    except parameters.exceptions.GetParameterError:
        return None
    return str(value).strip() or None


# -- issue 6: the `publisher` and `webhook` functions ------------------------------------


@cache
def publisher() -> StreamPublisher:
    """The publisher needs only the log's views and the bus (no master key, no bucket)."""
    settings = Settings(runtime="aws")
    event_log = DynamoDBEventLog(
        boto3.client("dynamodb"),
        events_table=settings.events_table,
        state_table=settings.state_table,
        clock=SystemClock(),
    )
    return build_stream_publisher(settings, event_log=event_log, events_client=boto3.client("events"))


@cache
def webhook_delivery() -> QueueDelivery:
    built = runtime()
    assert built.webhooks is not None
    return build_queue_delivery(built.settings, deliverer=built.webhooks, sqs_client=boto3.client("sqs"))
