"""The embedded delivery worker: the SQS queue and `webhook` function of the AWS shape, in
process, with the same policy.

The bus subscription (`TERMINAL_WITH_WEBHOOK`) puts a run's delivery in a persistent queue;
a scheduler thread hands due deliveries to a small pool, one attempt at a time per delivery;
a failed attempt is rescheduled after the policy's backoff, and a finished one leaves the queue.
Because the queue and the outbox cursor are both on disk, a restart picks up every delivery
that was pending, and an attempt interrupted by the restart is simply made again.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from altostratus.ports.bus import BusMessage
from altostratus.ports.clock import Clock
from altostratus.ports.webhook_queue import DeliveryQueue, PendingDelivery
from altostratus.publishing.background import BackgroundLoop
from altostratus.webhooks.delivery import DeliveryOutcome, WebhookDeliverer, automatic_delivery_id

logger = logging.getLogger("altostratus.webhooks")

_MAX_ERROR_DELAY_S = 300.0


class DeliveryWorker:
    def __init__(
        self,
        *,
        deliverer: WebhookDeliverer,
        queue: DeliveryQueue,
        clock: Clock,
        concurrency: int = 8,
        poll_interval_s: float = 0.05,
    ) -> None:
        self._deliverer = deliverer
        self._queue = queue
        self._clock = clock
        self._concurrency = concurrency
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._loop = BackgroundLoop("webhook-scheduler", self._dispatch_due, idle_s=poll_interval_s)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    # -- the bus subscription --

    def on_terminal_event(self, message: BusMessage) -> None:
        run_id = str(message.detail["event"]["run_id"])
        self._queue.enqueue(automatic_delivery_id(run_id), run_id, due_at=self._now())
        self._loop.wake()

    # -- lifecycle --

    def start(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="webhook")
        self._loop.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._loop.stop(timeout)
        if self._pool is not None:
            # Attempts under way finish (each is bounded by the policy's timeout); none start.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # -- scheduling --

    def _dispatch_due(self) -> bool:
        pool = self._pool
        if pool is None:
            return False
        with self._lock:
            free = self._concurrency - len(self._in_flight)
            if free <= 0:
                return False
            batch = self._queue.due(self._now(), limit=free, exclude=set(self._in_flight))
            self._in_flight.update(p.delivery_id for p in batch)
        for pending in batch:
            pool.submit(self._attempt, pending)
        return False

    def _attempt(self, pending: PendingDelivery) -> None:
        try:
            step = self._deliverer.deliver(pending.run_id, delivery_id=pending.delivery_id)
            if step.outcome is DeliveryOutcome.RETRY:
                self._queue.reschedule(pending.delivery_id, due_at=self._now() + step.delay_s)
            else:
                self._queue.complete(pending.delivery_id)
        except Exception:
            # The store (not the receiver) failed: keep the delivery, try again later.
            delay = min(_MAX_ERROR_DELAY_S, self._deliverer.policy.backoff(pending.errors + 1))
            logger.exception("webhook %s: attempt could not run; again in %.1f s", pending.delivery_id, delay)
            try:
                self._queue.reschedule(pending.delivery_id, due_at=self._now() + delay, error=True)
            except Exception:
                logger.exception("webhook %s: could not reschedule", pending.delivery_id)
        finally:
            with self._lock:
                self._in_flight.discard(pending.delivery_id)
            self._loop.wake()
