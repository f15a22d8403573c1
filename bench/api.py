"""API latency and throughput on the embedded server (`alto serve`, SQLite).

Prints p50/p99 latency and requests/s for run_task and get_run under concurrent clients, and
get_run latency for runs whose logs hold 10, 1,000 and 10,000 events — side by side with the
baseline of folding the log on every read, to show the stored view keeps reads flat.

Then listing an organization of 20,000 runs: GET /v1/runs at page 50 (and with a search_key),
beside the in-process baseline of the listing that decoded every view of the organization;
and get_run's p95 while 16 clients list (in their own process, so only the server is shared),
beside its p95 when nothing else runs.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from altostratus.domain import events as ev  # noqa: E402
from altostratus.domain.view import RunView, fold  # noqa: E402
from altostratus.ports.event_log import RunQuery  # noqa: E402
from altostratus.runtimes.local import build_local  # noqa: E402
from altostratus.runtimes.settings import Settings  # noqa: E402
from tests.support.runs import created, d  # noqa: E402
from tests.support.server import alto, alto_serve  # noqa: E402

CLIENTS = 8
REQUESTS = 800
LOG_SIZES = (10, 1_000, 10_000)
LISTED_RUNS = 20_000
LIST_PAGE, LIST_PAGE_SIZE = 50, 10
LISTERS = 16
SAMPLES = 300
# What the listers ask for: a deep page, and a search whose one match is the oldest run.
LIST_QUERIES = (
    {"page": LIST_PAGE, "page_size": LIST_PAGE_SIZE},
    {"search_key": "nightly report 0", "page_size": LIST_PAGE_SIZE},
)


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


def old_listing(store: Any, org_id: str, query: RunQuery) -> list[RunView]:
    """The listing this one replaced: decode the organization's views newest first, test each
    in Python, skip to the page."""
    rows = store.db.connection().execute(
        "SELECT body FROM views WHERE org_id = ? ORDER BY created_at DESC, run_id DESC", (org_id,)
    )
    skip, page = (query.page - 1) * query.page_size, []
    for (body,) in rows:
        view = RunView.model_validate_json(body)
        haystack = " ".join(
            filter(None, [view.run_id, view.title, str(view.request_echo.get("prompt") or "")])
        )
        if query.search and query.search.lower() not in haystack.lower():
            continue
        if skip:
            skip -= 1
            continue
        page.append(view)
        if len(page) >= query.page_size:
            break
    rows.close()
    return page


def median_ms(call: Any, n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def sequential_ms(http: httpx.Client, path: str, n: int, params: dict[str, Any] | None = None) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        http.get(path, params=params).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def listers(base_url: str, key: str, ready: Any, stop: Event, done: Any) -> None:
    """A process of LISTERS clients listing back to back until `stop`. They use the standard
    library's HTTP client, which costs far less CPU than httpx: the load generator should not
    compete for the cores the server it loads runs on."""
    host, port = base_url.removeprefix("http://").split(":")
    paths = [f"/v1/runs?{urlencode(q)}" for q in LIST_QUERIES]

    def lister(n: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        ready.release()
        while not stop.is_set():
            conn.request("GET", paths[n % len(paths)], headers={"x-api-key": key})
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200, reply.status
            with done.get_lock():
                done.value += 1
        conn.close()

    threads = [threading.Thread(target=lister, args=(n,)) for n in range(LISTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def listing_figures(server_url: str, data_dir: Path, http: httpx.Client, run_id: str) -> dict[str, float]:
    store = build_local(Settings(data_dir=data_dir))
    org = store.keys.create_org("bench-listing")
    _, list_key = store.keys.create_key(org.org_id)
    for i in range(LISTED_RUNS):
        store.event_log.append(
            f"tsk_v2_list{i:06d}",
            [
                created(org.org_id, title=f"Nightly report {i}", prompt=f"Collect the figures of store {i}"),
                d(ev.RunQueued()),
            ],
        )
    figures: dict[str, float] = {}
    deep = RunQuery(page=LIST_PAGE, page_size=LIST_PAGE_SIZE)
    search = RunQuery(search="nightly report 0", page_size=LIST_PAGE_SIZE)
    assert [v.run_id for v in old_listing(store, org.org_id, deep)] == [
        r.run_id for r in store.event_log.list_runs(org.org_id, deep).runs
    ]
    print(f"\nlisting {LISTED_RUNS:,} runs of one organization (page_size {LIST_PAGE_SIZE})")
    print(f"{'':>22} {'GET /v1/runs p50 ms':>20} {'in-process ms':>14} {'decode-all baseline ms':>23}")
    with httpx.Client(base_url=server_url, headers={"x-api-key": list_key}, timeout=60) as lister:
        for name, params, query in (
            (f"page {LIST_PAGE}", LIST_QUERIES[0], deep),
            ("search_key", LIST_QUERIES[1], search),
        ):
            sequential_ms(lister, "/v1/runs", 10, params)  # warm up
            served = statistics.median(sequential_ms(lister, "/v1/runs", 100, params))
            inproc = median_ms(lambda q=query: store.event_log.list_runs(org.org_id, q), 100)
            baseline = median_ms(lambda q=query: old_listing(store, org.org_id, q), 5)
            key = (
                "list_runs_p50_ms_20000_runs"
                if name.startswith("page")
                else "list_runs_search_p50_ms_20000_runs"
            )
            figures[key] = served
            figures[key.replace("list_runs", "old_listing_inprocess")] = baseline
            print(f"{name:>22} {served:>20.2f} {inproc:>14.3f} {baseline:>23.1f}")
    store.close()

    sequential_ms(http, f"/v1/runs/{run_id}", 20)  # warm up
    idle = percentile(sequential_ms(http, f"/v1/runs/{run_id}", SAMPLES), 0.95)
    context = multiprocessing.get_context("spawn")
    ready, stop, done = context.Semaphore(0), context.Event(), context.Value("l", 0)
    process = context.Process(target=listers, args=(server_url, list_key, ready, stop, done))
    process.start()
    try:
        for _ in range(LISTERS):
            assert ready.acquire(timeout=60), "the listers did not start"
        time.sleep(1)  # every lister has a request in flight
        before, start = done.value, time.perf_counter()
        loaded = percentile(sequential_ms(http, f"/v1/runs/{run_id}", SAMPLES), 0.95)
        list_rps = (done.value - before) / (time.perf_counter() - start)
    finally:
        stop.set()
        process.join(60)
    figures |= {
        "get_run_p95_ms_idle": idle,
        "get_run_p95_ms_under_listing": loaded,
        "list_runs_rps_under_16_listers": list_rps,
    }
    print(
        f"get_run p95: {idle:.2f} ms idle, {loaded:.2f} ms while {LISTERS} clients list "
        f"({list_rps:.0f} listings/s; {loaded / idle:.2f}x idle)"
    )
    return figures


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
        figures |= listing_figures(server.base_url, data_dir, http, run_ids[0])

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
