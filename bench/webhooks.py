"""Webhook delivery under load on the embedded runtime (`alto serve`, default retry policy).

1,000 runs with a webhook_url end within a minute (evenly over END_OVER_S seconds; this script
plays the executor by appending each run's end to the shared SQLite log), and a receiver on
127.0.0.1 answers 500 to 10% of requests at random. It checks that every run is delivered and
that no webhook-id is delivered (answered 2xx) twice, and prints deliveries/s (runs delivered
over the time from the first run's end to the last delivery) and p50/p99 of the time from a
run's terminal event to its WebhookDelivered event, both read from the run's log.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altostratus.domain import events as ev  # noqa: E402
from altostratus.domain.enums import WebhookStatus  # noqa: E402
from altostratus.runtimes.local import build_local  # noqa: E402
from altostratus.runtimes.settings import Settings  # noqa: E402
from tests.support.server import alto, alto_serve  # noqa: E402
from tests.support.webhook_receiver import WebhookReceiver, ids_delivered_twice, running  # noqa: E402

RUNS = 1_000
END_OVER_S = 30.0  # the runs end evenly over this long (well within the minute)
FAILURE_RATE = 0.10
SUBMITTERS = 8
DEADLINE_S = 300.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def flaky(seed: int = 6) -> WebhookReceiver:
    rng = random.Random(seed)
    return WebhookReceiver(script=lambda n: 500 if rng.random() < FAILURE_RATE else 200)


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="alto-bench-webhooks-"))
    key = alto("keys", "create", "--org", "bench", data_dir=data_dir).strip()
    # No per-key rate limit: the submissions are the load, not what is measured.
    env = {"ALTO_ALLOWED_TARGETS": "127.0.0.1", "ALTO_RATE_LIMIT_PER_SECOND": "0"}
    with (
        running(flaky(), keep_alive=True) as receiver,
        alto_serve(data_dir, env=env, api_only=True) as server,
    ):
        http = httpx.Client(
            base_url=server.base_url,
            headers={"x-api-key": key},
            timeout=30,
            limits=httpx.Limits(max_connections=SUBMITTERS),
        )

        def submit(i: int) -> str:
            body = {"prompt": f"bench run {i}", "url": "https://example.com", "webhook_url": receiver.url}
            reply = http.post("/v1/run/tasks", json=body)
            reply.raise_for_status()
            return str(reply.json()["run_id"])

        with ThreadPoolExecutor(SUBMITTERS) as pool:
            run_ids = list(pool.map(submit, range(RUNS)))
        print(f"submitted {RUNS} runs; ending them over {END_OVER_S:.0f} s", file=sys.stderr)

        store = build_local(Settings(data_dir=data_dir))
        started = time.monotonic()
        for i, run_id in enumerate(run_ids):
            pause = started + i * END_OVER_S / RUNS - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            store.event_log.append(
                run_id, [ev.Draft(data=ev.RunStarted()), ev.Draft(data=ev.RunCompleted(output={"i": i}))]
            )
        print(f"all runs ended after {time.monotonic() - started:.1f} s", file=sys.stderr)

        def settled() -> int:
            views = [store.event_log.get_view(r) for r in run_ids]
            return sum(1 for v in views if v and v.webhook and v.webhook.status is not WebhookStatus.PENDING)

        deadline = time.monotonic() + DEADLINE_S
        while (done := settled()) < RUNS and time.monotonic() < deadline:
            time.sleep(0.5)
        received = list(receiver.received)

        latencies_ms: list[float] = []
        first_end, last_delivery = float("inf"), 0.0
        for run_id in run_ids:
            log = store.event_log.read(run_id)
            end = next(e for e in log if e.type == "RunCompleted")
            delivered = next((e for e in log if e.type == "WebhookDelivered"), None)
            first_end = min(first_end, end.at.timestamp())
            if delivered is not None:
                latencies_ms.append((delivered.at - end.at).total_seconds() * 1000)
                last_delivery = max(last_delivery, delivered.at.timestamp())
        store.close()

    delivered_ids = {r.webhook_id for r in received if 200 <= r.status < 300}
    bad_signatures = sum(
        1 for r in received if not r.skyvern_signature_ok(key) or not r.standard_signature_ok(key)
    )
    failures = sum(1 for r in received if r.status >= 500)
    figures = {
        "runs": RUNS,
        "delivered": len(delivered_ids & {f"msg_{r}" for r in run_ids}),
        "duplicates": len(ids_delivered_twice(received)),
        "deliveries_per_s": round(len(latencies_ms) / max(1e-9, last_delivery - first_end), 1),
        "delivery_latency_ms_p50": round(percentile(latencies_ms, 0.50), 1) if latencies_ms else None,
        "delivery_latency_ms_p99": round(percentile(latencies_ms, 0.99), 1) if latencies_ms else None,
        "delivery_latency_ms_mean": round(statistics.fmean(latencies_ms), 1) if latencies_ms else None,
        "requests": len(received),
        "answered_500": failures,
        "bad_signatures": bad_signatures,
        "settled": done,
    }
    print(
        f"{figures['delivered']}/{RUNS} delivered, {figures['duplicates']} delivered twice, "
        f"{failures} requests answered 500 and retried; {figures['deliveries_per_s']} deliveries/s; "
        f"terminal event -> delivery p50 {figures['delivery_latency_ms_p50']} ms, "
        f"p99 {figures['delivery_latency_ms_p99']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
