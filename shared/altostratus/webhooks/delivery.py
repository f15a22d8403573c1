"""Webhook delivery: build, sign, POST, and record each attempt in the run's log.

A run's automatic delivery has the id `msg_<run_id>` (its `webhook-id`, the same on every
retry, so a receiver that deduplicates by it processes the run's end once). Where a delivery
stands is read from the run's events, never from memory: attempts already made are its
WebhookAttempted events, and WebhookDelivered / WebhookFailed end it. Event ids derive from
the delivery and the attempt number, so two workers racing on one delivery record it once, and
an attempt repeated after a crash re-sends with the same `webhook-id`.

Each attempt appends WebhookAttempted, together with WebhookDelivered (2xx) or, when no retry
follows, WebhookFailed with a reason; the view's `webhook` shows the outcome.
"""

from __future__ import annotations

import enum
import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from altostratus.domain import events as ev
from altostratus.domain.redaction import redact_url
from altostratus.domain.view import RunView
from altostratus.domain.webhook_payload import compact_json, signed_headers, webhook_payload
from altostratus.ports.artifacts import ArtifactStore
from altostratus.ports.clock import Clock
from altostratus.ports.event_log import EventLog
from altostratus.ports.keys import KeyStore
from altostratus.ports.secret_box import SecretBox, executor_request
from altostratus.webhooks.policy import WebhookRetryPolicy
from altostratus.webhooks.sender import AttemptResult, WebhookSender
from altostratus.wire.render import run_response

logger = logging.getLogger("altostratus.webhooks")


def automatic_delivery_id(run_id: str) -> str:
    return f"msg_{run_id}"


def replay_delivery_id(run_id: str) -> str:
    return f"msg_{run_id}_replay_{uuid.uuid4().hex[:16]}"


class DeliveryOutcome(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"  # an attempt failed; try again after `delay_s`
    FAILED = "failed"  # no further attempt (recorded as WebhookFailed)
    NOTHING_TO_DO = "nothing_to_do"  # already finished, or the run has no webhook


@dataclass(frozen=True)
class DeliveryStep:
    outcome: DeliveryOutcome
    attempt: int = 0
    delay_s: float = 0.0
    reason: str | None = None
    # FAILED because every attempt was used (the queue's dead-letter case on AWS).
    exhausted: bool = False


@dataclass(frozen=True)
class SignedWebhook:
    payload: str
    headers: dict[str, str]

    @property
    def body(self) -> bytes:
        return self.payload.encode("utf-8")


@dataclass(frozen=True)
class DeliveryRecord:
    attempts: int
    finished: bool


def delivery_record(events: Iterable[ev.Event], delivery_id: str) -> DeliveryRecord:
    attempts, finished = 0, False
    for event in events:
        data = event.data
        if isinstance(data, ev.WebhookAttempted) and data.delivery_id == delivery_id:
            attempts = max(attempts, data.attempt)
        elif isinstance(data, ev.WebhookDelivered | ev.WebhookFailed) and data.delivery_id == delivery_id:
            finished = True
    return DeliveryRecord(attempts=attempts, finished=finished)


class MissingSigningKeyError(Exception):
    """The API key that created the run is gone, so nothing can be signed for it."""

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"the API key that created run {run_id} no longer exists (or the run was created without "
            "one), so its webhook cannot be signed"
        )


class WebhookDeliverer:
    def __init__(
        self,
        *,
        event_log: EventLog,
        keys: KeyStore,
        artifacts: ArtifactStore,
        sender: WebhookSender,
        policy: WebhookRetryPolicy,
        clock: Clock,
        app_url: str | None = None,
        rng: random.Random | None = None,
        secret_box: SecretBox | None = None,
    ) -> None:
        self.event_log = event_log
        self.sender = sender
        self.policy = policy
        self._keys = keys
        self._artifacts = artifacts
        self._clock = clock
        self.app_url = app_url
        self._rng = rng or random.Random()
        self._secret_box = secret_box

    # -- building --

    def target(self, view: RunView) -> str | None:
        """Where the run's webhook goes: its `webhook_url` with any credential in it, which the
        run keeps sealed (the view shows it hidden)."""
        if not view.webhook_url:
            return None
        if view.sealed_request is None and not (view.stored_parts and view.stored_parts.sealed):
            return view.webhook_url
        return executor_request(view, self._secret_box, self._artifacts).webhook_url

    def sign(self, view: RunView, *, webhook_id: str) -> SignedWebhook:
        """The body for the run's current state, signed with the key that created the run."""
        key = self._keys.signing_key(view.api_key_id) if view.api_key_id else None
        if key is None:
            raise MissingSigningKeyError(view.run_id)
        run = run_response(view, self._artifacts, app_url=self.app_url, include_request=False)
        payload = compact_json(webhook_payload(run, view))
        timestamp = int(self._clock.now().timestamp())
        headers = signed_headers(payload.encode("utf-8"), key=key, webhook_id=webhook_id, timestamp=timestamp)
        return SignedWebhook(payload=payload, headers=headers)

    def post(self, url: str, signed: SignedWebhook) -> AttemptResult:
        return self.sender.post(url, signed.body, signed.headers, now=self._clock.now())

    def record(
        self,
        run_id: str,
        *,
        delivery_id: str,
        attempt: int,
        url: str,
        result: AttemptResult,
        final_reason: str | None,
    ) -> None:
        """Append the attempt, and its end when there is one (idempotent per attempt)."""
        drafts = [
            ev.Draft(
                data=ev.WebhookAttempted(
                    delivery_id=delivery_id,
                    attempt=attempt,
                    url=redact_url(url),
                    status_code=result.status_code,
                    error=result.error,
                    latency_ms=result.latency_ms,
                    response_body=result.response_body,
                ),
                event_id=f"{delivery_id}:attempt:{attempt}",
            )
        ]
        if result.delivered:
            assert result.status_code is not None
            drafts.append(
                ev.Draft(
                    data=ev.WebhookDelivered(
                        delivery_id=delivery_id, attempt=attempt, status_code=result.status_code
                    ),
                    event_id=f"{delivery_id}:delivered",
                )
            )
        elif final_reason is not None:
            drafts.append(
                ev.Draft(
                    data=ev.WebhookFailed(delivery_id=delivery_id, attempts=attempt, reason=final_reason),
                    event_id=f"{delivery_id}:failed",
                )
            )
        self.event_log.append(run_id, drafts)

    def record_unsendable(self, run_id: str, *, delivery_id: str, attempts: int, reason: str) -> None:
        self.event_log.append(
            run_id,
            [
                ev.Draft(
                    data=ev.WebhookFailed(delivery_id=delivery_id, attempts=attempts, reason=reason),
                    event_id=f"{delivery_id}:failed",
                )
            ],
        )

    # -- the automatic delivery --

    def deliver(self, run_id: str, *, delivery_id: str | None = None, receive_count: int = 0) -> DeliveryStep:
        """Make the delivery's next attempt, if it has one left.

        `receive_count` is how many times the queue has handed this delivery out (SQS's
        ApproximateReceiveCount): when it reaches `max_attempts` this attempt is the last even
        if fewer were recorded, so the queue's dead-letter redrive and the log agree.
        """
        delivery_id = delivery_id or automatic_delivery_id(run_id)
        view = self.event_log.get_view(run_id)
        if view is None or not view.webhook_url or not view.is_terminal:
            logger.warning("webhook %s: run %s has nothing to deliver", delivery_id, run_id)
            return DeliveryStep(DeliveryOutcome.NOTHING_TO_DO)
        record = delivery_record(self.event_log.read(run_id), delivery_id)
        if record.finished:
            return DeliveryStep(DeliveryOutcome.NOTHING_TO_DO, attempt=record.attempts)
        attempt = record.attempts + 1
        if attempt > self.policy.max_attempts:
            # Every attempt was made but the end was not recorded (a crash in between).
            reason = f"gave up after {record.attempts} attempts"
            self.record_unsendable(run_id, delivery_id=delivery_id, attempts=record.attempts, reason=reason)
            return DeliveryStep(
                DeliveryOutcome.FAILED, attempt=record.attempts, reason=reason, exhausted=True
            )
        try:
            signed = self.sign(view, webhook_id=delivery_id)
        except MissingSigningKeyError as exc:
            reason = str(exc)
            self.record_unsendable(run_id, delivery_id=delivery_id, attempts=record.attempts, reason=reason)
            return DeliveryStep(DeliveryOutcome.FAILED, attempt=record.attempts, reason=reason)
        target = self.target(view)
        assert target is not None
        result = self.post(target, signed)
        last = attempt >= self.policy.max_attempts or receive_count >= self.policy.max_attempts
        if result.delivered:
            step = DeliveryStep(DeliveryOutcome.DELIVERED, attempt=attempt)
        elif result.retryable and not last:
            delay = self.policy.delay(attempt, retry_after_s=result.retry_after_s, rng=self._rng)
            step = DeliveryStep(
                DeliveryOutcome.RETRY, attempt=attempt, delay_s=delay, reason=result.describe()
            )
        elif result.retryable:
            reason = f"gave up after {attempt} attempts; the last one: {result.describe()}"
            step = DeliveryStep(DeliveryOutcome.FAILED, attempt=attempt, reason=reason, exhausted=True)
        else:
            reason = f"attempt {attempt} was not retried: {result.describe()}"
            step = DeliveryStep(DeliveryOutcome.FAILED, attempt=attempt, reason=reason)
        self.record(
            run_id,
            delivery_id=delivery_id,
            attempt=attempt,
            url=view.webhook_url,
            result=result,
            final_reason=step.reason if step.outcome is DeliveryOutcome.FAILED else None,
        )
        logger.info(
            "webhook %s attempt %d: %s (%s)", delivery_id, attempt, step.outcome.value, result.describe()
        )
        return step
