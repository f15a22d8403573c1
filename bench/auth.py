"""What authenticating and rate-limiting a request costs.

Embedded (in-process resolver, SQLite): microseconds per request for a public path (no key,
the baseline), an authenticated request with the per-key limit off, and with it on.
AWS (moto, so only the counts mean anything): DynamoDB calls per authenticated request with
the key cache off (the baseline) and warm, with the limit on.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")

from altostratus.runtimes import aws as aws_runtime  # noqa: E402
from altostratus.runtimes.local import build_local  # noqa: E402
from altostratus.runtimes.settings import Settings  # noqa: E402
from tests.support.api_client import ApiClient  # noqa: E402
from tests.support.aws import moto_aws  # noqa: E402

REQUESTS = 2_000
HIGH = {"rate_limit_per_second": 1e6, "rate_limit_burst": 1_000_000}  # on, but never refusing


def per_request_us(client: ApiClient, path: str, key: str | None) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(REQUESTS // 5):
            client.get(path, key=key)
        samples.append((time.perf_counter() - start) / (REQUESTS // 5) * 1e6)
    return statistics.median(samples)


def embedded() -> dict[str, float]:
    figures: dict[str, float] = {}
    for name, overrides in (("limit_off", {"rate_limit_per_second": 0}), ("limit_on", HIGH)):
        data_dir = Path(tempfile.mkdtemp(prefix="alto-bench-auth-"))
        runtime = build_local(Settings(data_dir=data_dir, **overrides))
        client = ApiClient(runtime.api(), runtime.ensure_dev_key())
        if name == "limit_off":
            figures["embedded_public_us"] = per_request_us(client, "/health", None)
        figures[f"embedded_{name}_us"] = per_request_us(client, "/v1/runs/tsk_404", "default")
        runtime.close()
    return figures


def aws() -> dict[str, float]:
    figures: dict[str, float] = {}
    with moto_aws() as deployed:
        for variable, value in deployed.environment().items():
            os.environ[variable] = value
        for name, cache in (("no_cache", 0), ("warm_cache", 60)):
            built = aws_runtime.build_aws(Settings(runtime="aws", key_cache_seconds=cache, **HIGH))
            org = built.keys.create_org(f"bench-{name}")
            _, key = built.keys.create_key(org.org_id)
            calls: Counter[str] = Counter()

            def count(model: Any, params: dict[str, Any], calls: Counter[str] = calls, **_: Any) -> None:
                pk = str(params.get("Key", {}).get("pk", {}).get("S", ""))
                calls[f"{model.name} {pk.partition('#')[0]}"] += 1

            built.clients["dynamodb"].meta.events.register("before-parameter-build.dynamodb", count)
            client = ApiClient(built.api(), key)
            client.get("/v1/runs/tsk_404")  # fills the cache, records the first use
            calls.clear()
            for _ in range(200):
                client.get("/v1/runs/tsk_404")
            # The key's lookups and the limiter's bucket updates (a use is recorded once a
            # minute, so not within this loop); the route's own reads are not counted.
            figures[f"aws_{name}_key_reads_per_request"] = calls["GetItem key"] / 200
            figures[f"aws_{name}_limiter_writes_per_request"] = calls["UpdateItem ratelimit"] / 200
    return figures


def main() -> None:
    figures = embedded() | aws()
    print(f"{'embedded, per request':<40} {'µs':>8}")
    print(f"{'  public path, no key (baseline)':<40} {figures['embedded_public_us']:>8.1f}")
    print(f"{'  authenticated, limit off':<40} {figures['embedded_limit_off_us']:>8.1f}")
    print(f"{'  authenticated, limit on':<40} {figures['embedded_limit_on_us']:>8.1f}")
    print(f"{'AWS, DynamoDB calls per request':<40} {'key':>8} {'limiter':>8}")
    for name, label in (("no_cache", "no key cache (baseline)"), ("warm_cache", "warm key cache")):
        key_calls = figures[f"aws_{name}_key_reads_per_request"]
        limiter_calls = figures[f"aws_{name}_limiter_writes_per_request"]
        print(f"  {label:<38} {key_calls:>8.2f} {limiter_calls:>8.2f}")
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
