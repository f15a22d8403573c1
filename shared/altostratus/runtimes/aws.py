"""The AWS runtime's composition root: DynamoDB, S3, Secrets Manager, Step Functions.

Every client is plain boto3 with no endpoint in code, so the same code runs on AWS and, in
tests, against moto.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from altostratus.adapters.api_linked_artifacts import ApiLinkedArtifacts
from altostratus.adapters.checkpoint_sessions import CheckpointSessions
from altostratus.adapters.dynamodb_credentials import DynamoDBCredentialStore
from altostratus.adapters.dynamodb_event_log import DynamoDBEventLog
from altostratus.adapters.dynamodb_otp_codes import DynamoDBOtpCodes
from altostratus.adapters.dynamodb_rate_limiter import DynamoDBRateLimiter
from altostratus.adapters.dynamodb_run_slots import DynamoDBRunSlots
from altostratus.adapters.dynamodb_session_log import DynamoDBSessionLog
from altostratus.adapters.dynamodb_workflow_log import DynamoDBWorkflowLog
from altostratus.adapters.key_stores import DynamoDBKeyStore
from altostratus.adapters.s3_artifacts import S3ArtifactStore
from altostratus.adapters.scheduler_session_timer import SchedulerSessionTimer
from altostratus.adapters.sealing import Sealer, decode_master_key
from altostratus.adapters.sfn_orchestrator import StepFunctionsOrchestrator
from altostratus.api.app import build_api
from altostratus.api.resolver import AltoResolver
from altostratus.api.services import ApiServices
from altostratus.api.viewer.session import configured_origins
from altostratus.domain.ids import IdFactory
from altostratus.orchestration.execution_ends import ExecutionEnds
from altostratus.orchestration.lifecycle import RunLifecycle
from altostratus.orchestration.sessions import SessionCloser
from altostratus.orchestration.sweeper import RunSweeper
from altostratus.ports.clock import Clock, SystemClock
from altostratus.ports.session_browsers import SessionBrowsers
from altostratus.runtimes import compose
from altostratus.runtimes.api_options import rate_limit
from altostratus.runtimes.compose import Stores
from altostratus.runtimes.integrations import build_queue_delivery, build_stream_publisher
from altostratus.runtimes.session_backends import agentcore_sessions
from altostratus.runtimes.settings import Settings
from altostratus.webhooks import QueueDelivery, WebhookDeliverer

if TYPE_CHECKING:
    from altostratus.orchestration.slices import AgentSlices
    from altostratus.publishing import StreamPublisher


def master_key(settings: Settings) -> bytes:
    if settings.master_key is not None:
        return decode_master_key(settings.master_key.get_secret_value())
    if settings.master_key_secret_arn is None:
        raise RuntimeError("set ALTO_MASTER_KEY_SECRET_ARN (or ALTO_MASTER_KEY) to seal API keys")
    # Cached for the life of the execution environment; rotated keys apply at the next cold start.
    value = parameters.get_secret(settings.master_key_secret_arn, max_age=3600)
    return decode_master_key(str(value))


def link_secret(master: bytes) -> bytes:
    """The key of the API's signed artifact links (the embedded server derives it alike)."""
    return hmac.new(master, b"artifact-links", hashlib.sha256).digest()


@dataclass(frozen=True)
class AwsStores:
    """The AWS adapters, built once per execution environment and shared by every function
    this environment runs."""

    settings: Settings
    event_log: DynamoDBEventLog
    # The bucket, handed out as the API's own signed links (S3 presigned URLs made with the
    # function role's temporary credentials die before the expiry the API states).
    artifacts: ApiLinkedArtifacts
    keys: DynamoDBKeyStore
    stores: Stores
    clients: dict[str, Any]


@cache
def stores() -> AwsStores:
    """The adapters of this execution environment, built on first use (the cold start)."""
    return build_stores(Settings(runtime="aws"))


def build_stores(settings: Settings, *, clock: Clock | None = None) -> AwsStores:
    clock = clock or SystemClock()
    ids = IdFactory()
    ddb = boto3.client("dynamodb")
    s3 = boto3.client("s3")
    event_log = DynamoDBEventLog(
        ddb,
        events_table=settings.events_table,
        state_table=settings.state_table,
        clock=clock,
        retention_days=settings.retention_days or None,
    )
    master = master_key(settings)
    artifacts = ApiLinkedArtifacts(
        S3ArtifactStore(s3, bucket=settings.artifacts_bucket, prefix=settings.artifacts_prefix),
        public_base_url=settings.base_url(),
        signing_secret=link_secret(master),
    )
    sealer = Sealer(master)
    keys = DynamoDBKeyStore(ddb, state_table=settings.state_table, sealer=sealer, ids=ids, clock=clock)
    idempotency = DynamoDBPersistenceLayer(
        table_name=settings.state_table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="idempotency#run_task",
        boto3_client=ddb,
    )
    limit = rate_limit(settings)
    sessions = DynamoDBSessionLog(
        ddb, state_table=settings.state_table, clock=clock, retention_days=settings.retention_days or None
    )
    built = Stores(
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        idempotency=idempotency,
        run_slots=DynamoDBRunSlots(ddb, state_table=settings.state_table, clock=clock),
        secret_box=sealer,
        ids=ids,
        clock=clock,
        link_verifier=artifacts.verify,
        # In the state table, so the limit holds across every instance of the api function.
        rate_limiter=(
            DynamoDBRateLimiter(ddb, state_table=settings.state_table, limit=limit, clock=clock)
            if limit
            else None
        ),
        otp_codes=DynamoDBOtpCodes(ddb, state_table=settings.state_table),
        credentials=DynamoDBCredentialStore(ddb, state_table=settings.state_table),
        workflows=DynamoDBWorkflowLog(ddb, state_table=settings.state_table, clock=clock),
        sessions=sessions,
        session_browsers=session_browsers(settings, sessions, artifacts, sealer, ids),
        session_timer=session_timer(settings),
    )
    return AwsStores(
        settings=settings,
        event_log=event_log,
        artifacts=artifacts,
        keys=keys,
        stores=built,
        clients={"dynamodb": ddb, "s3": s3},
    )


def session_browsers(
    settings: Settings,
    sessions: DynamoDBSessionLog,
    artifacts: ApiLinkedArtifacts,
    sealer: Sealer,
    ids: IdFactory,
) -> SessionBrowsers:
    """Where sessions' browsers live between runs. On AWS no browser outlives a Lambda, so
    the default backend checkpoints each run's browser state (sealed, in the bucket)."""
    if settings.session_backend == "agentcore":
        # Opt-in: a managed live Chromium per session, which outlives the functions.
        return agentcore_sessions(settings)
    if settings.session_backend not in ("default", "checkpoint"):
        raise RuntimeError(f"ALTO_SESSION_BACKEND={settings.session_backend} is not available on AWS")
    return CheckpointSessions(sessions, artifacts, sealer, ids)


def session_timer(settings: Settings) -> SchedulerSessionTimer | None:
    """One EventBridge Scheduler schedule per session closes it at its deadline; without the
    template's function and role (a bare test stack) sessions still read as timed out past it."""
    if not (settings.session_close_function_arn and settings.session_scheduler_role_arn):
        return None
    return SchedulerSessionTimer(
        boto3.client("scheduler"),
        target_arn=settings.session_close_function_arn,
        role_arn=settings.session_scheduler_role_arn,
        group=settings.session_schedule_group,
    )


@dataclass
class AwsRuntime:
    """The API of the `api` function, over this environment's adapters."""

    aws: AwsStores
    services: ApiServices
    webhooks: WebhookDeliverer

    @property
    def settings(self) -> Settings:
        return self.aws.settings

    @property
    def event_log(self) -> DynamoDBEventLog:
        return self.aws.event_log

    @property
    def artifacts(self) -> ApiLinkedArtifacts:
        return self.aws.artifacts

    @property
    def keys(self) -> DynamoDBKeyStore:
        return self.aws.keys

    @property
    def clients(self) -> dict[str, Any]:
        return self.aws.clients

    @property
    def ids(self) -> IdFactory:
        return self.aws.stores.ids

    def api(self) -> AltoResolver:
        return build_api(self.services)

    def answer_at(self, event: dict[str, Any]) -> None:
        """Signed links point at the address the request came to, unless ALTO_PUBLIC_URL says
        where clients reach the API (a custom domain)."""
        if self.settings.public_url:
            return
        domain = (event.get("requestContext") or {}).get("domainName")
        if domain:
            self.artifacts.public_base_url = f"https://{domain}"


def build_aws(settings: Settings, *, clock: Clock | None = None, aws: AwsStores | None = None) -> AwsRuntime:
    aws = aws or build_stores(settings, clock=clock)
    orchestrator = (
        StepFunctionsOrchestrator(boto3.client("stepfunctions"), state_machine_arn=settings.state_machine_arn)
        if settings.state_machine_arn
        else None
    )
    webhooks = compose.deliverer(settings, aws.stores)
    # The viewer's pages show screenshots and recordings from the API's own links, and files
    # too large for a Lambda answer from the bucket (a redirect to a presigned URL).
    probe = aws.artifacts.inner.signed_url(
        f"s3://{settings.artifacts_bucket}/viewer-probe", artifact_id="probe"
    )
    services = compose.api_services(
        settings,
        aws.stores,
        webhooks=webhooks,
        orchestrator=orchestrator,
        cache_keys=True,
        media_origins=configured_origins(probe),
        model_key=lambda: anthropic_key(settings),
    )
    linked = aws.artifacts
    # A Lambda response stops at 6 MB: larger files go by a presigned URL made just then.
    services = replace(
        services, large_content_link=lambda uri, artifact_id: linked.direct_url(uri, artifact_id=artifact_id)
    )
    return AwsRuntime(aws=aws, services=services, webhooks=webhooks)


@cache
def runtime() -> AwsRuntime:
    """The api function's runtime, built on first use (the cold start)."""
    built = stores()
    return build_aws(built.settings, aws=built)


@cache
def lifecycle() -> RunLifecycle:
    """Start run, Finish run and Record failure need only the event log and the run slots."""
    built = stores()
    return compose.lifecycle(built.settings, built.stores)


@cache
def execution_ends() -> ExecutionEnds:
    """run_failed, for the execution-status rule: executions that ended without their run."""
    built = stores()
    return ExecutionEnds(built.event_log, compose.admission(built.settings, built.stores))


@cache
def session_closer() -> SessionCloser:
    """session_close: the target of each session's timeout schedule."""
    built = stores()
    assert built.stores.sessions is not None
    return SessionCloser(built.stores.sessions, built.stores.session_browsers, built.stores.session_timer)


@cache
def sweeper() -> RunSweeper:
    """run_sweeper: starts the executions of runs left queued without one."""
    built = stores()
    settings = built.settings
    if not settings.state_machine_arn:
        raise RuntimeError("set ALTO_STATE_MACHINE_ARN: the sweeper starts executions of that machine")
    orchestrator = StepFunctionsOrchestrator(
        boto3.client("stepfunctions"), state_machine_arn=settings.state_machine_arn
    )
    return RunSweeper(
        event_log=built.event_log,
        unstarted=built.event_log,
        orchestrator=orchestrator,
        executions=orchestrator,
        grace_seconds=settings.sweep_after_seconds,
    )


@cache
def agent_slices() -> AgentSlices:
    """agent_step: the agent, the bucket, the model key and Chromium (the image has it; the
    zip functions' layer does not, so the browser is imported only here)."""
    built = stores()
    return compose.agent_slices(
        built.settings, built.stores, api_key=anthropic_key(built.settings), embedded=False
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


# -- the `publisher` and `webhook` functions ------------------------------------------------


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
    """The deliverer alone: the webhook function needs no API."""
    built = stores()
    deliverer = compose.deliverer(built.settings, built.stores)
    return build_queue_delivery(built.settings, deliverer=deliverer, sqs_client=boto3.client("sqs"))


def forget_environment() -> None:
    """Drop everything built for this execution environment, so the next call builds it anew
    from the environment's settings (tests give each simulated deployment its own); the
    agent's kept browser is closed first."""
    if agent_slices.cache_info().currsize:
        agent_slices().close_environment()
    for cached in (
        stores,
        runtime,
        lifecycle,
        execution_ends,
        session_closer,
        sweeper,
        agent_slices,
        publisher,
        webhook_delivery,
    ):
        cached.cache_clear()
