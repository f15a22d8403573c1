"""API latency and throughput on the embedded server (`alto serve`, SQLite).

Prints p50/p99 latency and requests/s for run_task and get_run under concurrent clients, and
get_run latency for runs whose logs hold 10, 1,000 and 10,000 events — side by side with the
baseline of folding the log on every read, to show the stored view keeps reads flat.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import json
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
from altostratus.domain.view import fold  # noqa: E402
from altostratus.runtimes.local import build_local  # noqa: E402
from altostratus.runtimes.settings import Settings  # noqa: E402
from tests.support.runs import created, d  # noqa: E402
from tests.support.server import alto, alto_serve  # noqa: E402

CLIENTS = 8
REQUESTS = 800
LOG_SIZES = (10, 1_000, 10_000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_requests(call: object, n: int) -> tuple[list[float], float]:
    latencies: list[float] = []

    def one(i: int) -> None:
        start = time.perf_counter()
        call(i)  # type: ignore[operator]
        latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one, range(n)))
    return latencies, n / (time.perf_counter() - start)


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="alto-bench-api-"))
    key = alto("keys", "create", "--org", "bench", data_dir=data_dir).strip()
    figures: dict[str, float] = {}
    with (
        # No per-key rate limit: this measures the API's own capacity (bench/auth.py the limit's cost).
        alto_serve(data_dir, api_only=True, env={"ALTO_RATE_LIMIT_PER_SECOND": "0"}) as server,
        httpx.Client(
            base_url=server.base_url,
            headers={"x-api-key": key},
            timeout=30,
            limits=httpx.Limits(max_connections=CLIENTS),
        ) as http,
    ):
        run_ids: list[str] = []

        def submit(i: int) -> None:
            reply = http.post("/v1/run/tasks", json={"prompt": f"bench {i}", "url": "https://example.com"})
            reply.raise_for_status()
            run_ids.append(reply.json()["run_id"])

        for i in range(20):  # warm up connections and caches
            submit(i)
        lat, rps = timed_requests(submit, REQUESTS)
        figures |= {
            "run_task_p50_ms": statistics.median(lat),
            "run_task_p99_ms": percentile(lat, 0.99),
            "run_task_rps": rps,
        }

        def get(i: int) -> None:
            http.get(f"/v1/runs/{run_ids[i % len(run_ids)]}").raise_for_status()

        lat, rps = timed_requests(get, REQUESTS)
        figures |= {
            "get_run_p50_ms": statistics.median(lat),
            "get_run_p99_ms": percentile(lat, 0.99),
            "get_run_rps": rps,
        }

        store = build_local(Settings(data_dir=data_dir))
        org = store.keys.org_by_name("bench")
        assert org is not None
        print(f"{'events in log':>14} {'get_run p50 ms':>15} {'fold-on-read p50 ms (baseline)':>31}")
        for size in LOG_SIZES:
            run_id = f"tsk_v2_bench{size}"
            store.event_log.append(run_id, [created(org.org_id), d(ev.RunQueued()), d(ev.RunStarted())])
            batch = [d(ev.ThoughtRecorded(thought_id=f"th_{i}", thought="still looking")) for i in range(50)]
            while len(store.event_log.read(run_id)) < size:
                missing = size - len(store.event_log.read(run_id))
                store.event_log.append(run_id, batch[: max(1, min(50, missing))])
            samples = []
            for _ in range(200):
                start = time.perf_counter()
                http.get(f"/v1/runs/{run_id}").raise_for_status()
                samples.append((time.perf_counter() - start) * 1000)
            baseline = []
            for _ in range(5 if size >= 10_000 else 20):
                start = time.perf_counter()
                fold(store.event_log.read(run_id))
                baseline.append((time.perf_counter() - start) * 1000)
            figures[f"get_run_p50_ms_{size}_events"] = statistics.median(samples)
            print(f"{size:>14} {statistics.median(samples):>15.2f} {statistics.median(baseline):>31.2f}")
        store.close()

    print(
        f"run_task: p50 {figures['run_task_p50_ms']:.2f} ms, p99 {figures['run_task_p99_ms']:.2f} ms, "
        f"{figures['run_task_rps']:.0f} req/s ({CLIENTS} concurrent clients, {REQUESTS} requests)"
    )
    print(
        f"get_run:  p50 {figures['get_run_p50_ms']:.2f} ms, p99 {figures['get_run_p99_ms']:.2f} ms, "
        f"{figures['get_run_rps']:.0f} req/s"
    )
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
