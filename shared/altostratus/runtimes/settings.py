"""The one typed settings object; only the runtimes read the environment (prefix ALTO_)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from altostratus.runtimes.startup_errors import StartupError

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALTO_", extra="ignore", env_nested_delimiter="__")

    runtime: Literal["embedded", "aws"] = "embedded"

    # -- embedded server --
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".altostratus")
    host: str = "127.0.0.1"
    port: int = 8000
    # Base URL clients reach this server at (signed artifact links point there).
    public_url: str | None = None
    # 32-byte key (hex) sealing stored API keys; embedded default: <data_dir>/master.key.
    master_key: SecretStr | None = None

    # -- API --
    strip_prefixes: list[str] = Field(default_factory=list)
    max_body_bytes: int = MiB
    # A run request larger than this keeps its largest parts (prompt, schemas) in the artifact
    # store, referenced from the log: a DynamoDB item holds at most 400 KB.
    store_request_parts_above_bytes: int = Field(default=64 * 1024, ge=1024)
    app_url: str | None = None
    # Operator-provided proxies: {"RESIDENTIAL_GB": "http://user:pass@proxy:3128", ...}.
    proxy_locations: dict[str, str] = Field(default_factory=dict)
    # Hosts and CIDRs the browser and webhooks may reach although they are private/loopback.
    allowed_targets: str = ""
    # Per-key request rate (a token bucket): sustained requests per second and the burst
    # allowed at once; 0 in either turns the limit off.
    rate_limit_per_second: float = Field(default=20.0, ge=0)
    rate_limit_burst: int = Field(default=40, ge=0)
    # AWS: how long a warm API Lambda trusts its memory of a key (a revoked key keeps working
    # there for at most this long). The embedded server never caches keys.
    key_cache_seconds: float = Field(default=60.0, ge=0)

    # -- AWS resources (names come from the SAM template's environment) --
    events_table: str = "alto-events"
    state_table: str = "alto-state"
    artifacts_bucket: str = "alto-artifacts"
    state_machine_arn: str | None = None
    event_bus_name: str = "altostratus"
    master_key_secret_arn: str | None = None
    # AWS: days a run's records are kept (DynamoDB TTL from its submission); the bucket keeps
    # artifacts a little longer, so no view points at deleted files. 0: kept for good.
    retention_days: int = Field(default=0, ge=0)
    # AWS: a run still queued this long after submission with no execution is started by the
    # sweeper (the API crashed between writing it and starting its execution).
    sweep_after_seconds: float = Field(default=120.0, ge=0)
    # AWS: the prefix of every object the runs store in the artifacts bucket (the agent_step
    # function may read and write only there).
    artifacts_prefix: str = "runs/"

    # -- browser sessions --
    # Where a session's browser lives between runs: "embedded" (a live Chromium this server
    # owns), "checkpoint" (each run's browser state saved and restored; AWS's default) or
    # "agentcore" (Amazon Bedrock AgentCore Browser: a managed live Chromium, on either runtime).
    session_backend: Literal["default", "embedded", "checkpoint", "agentcore"] = "default"
    # AgentCore: the browser tool sessions start in (the managed one, or a custom browser's id),
    # its region (unset: the environment's AWS region) and, for tests, its data-plane endpoint.
    agentcore_browser_identifier: str = "aws.browser.v1"
    agentcore_region: str | None = None
    agentcore_endpoint_url: str | None = None
    # AgentCore fixes a session's lifetime at its start and cannot extend it: long enough for
    # the longest extended session (our own deadline stops it sooner).
    agentcore_session_timeout_seconds: int = Field(default=6 * 3600, ge=1, le=28800)
    # AWS: the function the session-timeout schedules invoke, the role they do it with, and
    # their EventBridge Scheduler group (from template.yaml).
    session_close_function_arn: str | None = None
    session_scheduler_role_arn: str | None = None
    session_schedule_group: str = "default"

    # -- webhooks and the event bus --
    # Attempts per delivery; on AWS also the webhook queue's maxReceiveCount (template.yaml).
    webhook_max_attempts: int = Field(default=10, ge=1)
    # Backoff: the wait after attempt n is between half and all of base * 2**(n-1), capped.
    webhook_backoff_base_s: float = Field(default=2.0, ge=0)
    webhook_backoff_max_s: float = Field(default=900.0, ge=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    # Embedded: deliveries attempted at once, and how often the outbox looks for new events.
    webhook_concurrency: int = Field(default=8, ge=1)
    outbox_poll_interval_s: float = Field(default=0.05, gt=0)
    # AWS: the queue the webhook function reads (to delay a retry by hiding the message).
    webhook_queue_url: str | None = None

    # -- LLM --
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ALTO_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ALTO_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL")
    )
    main_model: str | None = None
    cheap_model: str | None = None
    # How the model is retried on 429/5xx/overloaded/timeouts (backoff doubles from the base).
    llm_max_attempts: int = Field(default=5, ge=1)
    llm_retry_base_seconds: float = Field(default=1.0, ge=0)
    llm_timeout_seconds: float = Field(default=120.0, gt=0)

    # -- computer-use engines (each is offered only when its provider is configured) --
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ALTO_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = None
    # computer-use-preview (the preview tool) or a GA model such as gpt-5.4 (the GA tool).
    openai_cua_model: str = "computer-use-preview"
    anthropic_cua_model: str | None = None
    ui_tars_base_url: str | None = None
    ui_tars_api_key: SecretStr | None = None
    ui_tars_model: str = "ui-tars"
    # "doubao": relative 0-1000 (UI-TARS-1.0, Doubao); "qwen25vl": absolute on the
    # smart-resized screenshot (UI-TARS-1.5).
    ui_tars_coordinates: Literal["doubao", "qwen25vl"] = "doubao"
    ui_tars_language: str = "English"
    # OpenAI's pending safety checks: refuse (the run ends terminated) or acknowledge.
    cua_safety_checks: Literal["refuse", "acknowledge"] = "refuse"

    # -- execution --
    # False: serve the API only; runs stay queued for another executor (`alto serve --api-only`).
    execute_runs: bool = True
    max_browsers: int = Field(default=2, ge=1)
    # None: Debian's headless shell when installed, else Debian's Chromium.
    chromium_path: str | None = None
    # "lambda" adds the flags Chromium needs inside the agent_step image (set by its Dockerfile).
    browser_profile: Literal["desktop", "lambda"] = "desktop"
    # One agent_step invocation runs steps this long, then checkpoints; the embedded runner
    # uses shorter slices so a restarted server loses little.
    slice_seconds: float = Field(default=120.0, gt=0)
    # A slice starts no new step with less than this left (a step's worst case, LLM included).
    step_reserve_seconds: float = Field(default=60.0, ge=0)
    # Operator limits of every run: the most steps a request may ask for, and the wall-clock
    # time after which a run ends timed out.
    max_steps_limit: int = Field(default=100, ge=1)
    max_run_seconds: float = Field(default=3600.0, gt=0)
    # How often a run waiting for a one-time code looks for it, and for how long at most.
    totp_poll_seconds: float = Field(default=10.0, gt=0)
    totp_timeout_seconds: float = Field(default=900.0, gt=0)
    # Whether a slice that runs out while its run waits for a code ends with a checkpoint, the
    # next one starting after a state-machine Wait (no Lambda, no browser held meanwhile),
    # rather than waiting on inline past its time. Unset: on for AWS, off embedded.
    totp_wait_between_slices: bool | None = None
    # Runs of one organization executing at once; the others stay queued and start, oldest
    # first, as those end (0: no cap).
    max_running_per_org: int = Field(default=5, ge=0)
    # AWS: how long a run over its organization's cap waits in the state machine before it
    # asks again (each ask is a few state transitions, which Step Functions bills).
    admission_retry_seconds: int = Field(default=10, ge=1)
    anthropic_api_key_secret_arn: str | None = None

    # -- recording --
    # A video of every run's browser (the `recording` artifact, the run's recording_url): a
    # constant frame rate, scaled down to fit the largest size, stored again every few seconds.
    recording: bool = True
    recording_fps: float = Field(default=4.0, gt=0, le=30)
    recording_max_width: int = Field(default=1280, ge=64, le=3840)
    recording_max_height: int = Field(default=720, ge=64, le=2160)
    recording_flush_seconds: float = Field(default=5.0, gt=0)
    # A Playwright trace of each slice (a `trace` artifact), for debugging: off by default.
    trace: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.slice_seconds <= self.step_reserve_seconds:
            raise ValueError(
                f"ALTO_SLICE_SECONDS ({self.slice_seconds:g}) must be greater than ALTO_STEP_RESERVE_SECONDS "
                f"({self.step_reserve_seconds:g}): a slice stops starting steps when less than the reserve "
                "is left, so it would never run one"
            )
        return self

    @property
    def run_slot_lease_seconds(self) -> float:
        """How long a run's slot outlives its last renewal (every slice renews it): a whole
        slice, its last step, and room for the state machine's retries in between."""
        return self.slice_seconds + self.step_reserve_seconds + 240.0

    @property
    def waits_for_codes_between_slices(self) -> bool:
        if self.totp_wait_between_slices is not None:
            return self.totp_wait_between_slices
        return self.runtime == "aws"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "alto.db"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class InvalidSettingsError(StartupError):
    """The environment (ALTO_*) or the command line sets something that cannot work."""


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment and `overrides`, or InvalidSettingsError saying in one
    line per problem what to fix."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            where = f"ALTO_{name}: " if name else ""
            problems.append(f"{where}{error['msg'].removeprefix('Value error, ')}")
        raise InvalidSettingsError("invalid settings: " + "; ".join(problems)) from None
