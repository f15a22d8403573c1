"""What one run costs on AWS, counted on the moto flow and priced with the dated list prices of
altostratus.runtimes.aws_prices.

A 10-step task (real Chromium on the fixture site, the fake model, a signed webhook to a local
receiver) runs through the template's pieces under moto: the api function, the run state
machine (the same ASL) with its four task functions, the stream publisher, the EventBridge
rule, the webhook queue and function. Every AWS call the functions make is counted by botocore
event hooks on every client (`provide-client-params` for the request, `after-call` for the
answer), attributed to the function running it; calls of the bench itself are not counted.

- Lambda: each invocation's measured compute, by function, at the memory and architecture
  of template.yaml (agent_step: `--agent-memory`, `--arch`), plus `--model-wait` seconds per
  agent step (the fake model answers at once; a real one takes seconds, and the function waits
  for it, holding its memory).
- Step Functions: state transitions of the execution's history.
- DynamoDB: request units from the items' sizes (DynamoDB's rules: 1 KB a write unit, 4 KB a
  read unit, half for eventually consistent reads, double in transactions), the index writes
  of the table's GSIs when a projected attribute changes, and storage kept for RetentionDays.
- S3 requests and bytes (stored for RetentionDays), EventBridge events, SQS requests, log
  bytes written by the functions (plus Lambda's START/END/REPORT lines), API requests,
  Secrets Manager calls, X-Ray traces.

It also measures the browser: launch vs reuse of the warm Chromium (`browser_launch_ms`,
`browser_reuse_ms`) and the peak memory of the Chromium process tree and of /tmp during the
run, and prints the idle cost per month of a deployed stack (what costs money with no runs).
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# moto only: never a real AWS account, whatever the shell has configured (as the tests do).
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ |= {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Altostratus",
}

import boto3  # noqa: E402
import botocore.session  # noqa: E402
import pytest  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from altostratus.adapters.browser import LaunchConfig  # noqa: E402
from altostratus.adapters.browser.provider import ChromiumBrowserProvider  # noqa: E402
from altostratus.domain.run_request import RunTaskRequest  # noqa: E402
from altostratus.runtimes import aws as aws_runtime  # noqa: E402
from altostratus.runtimes import aws_prices as price  # noqa: E402
from altostratus.security.targets import TargetPolicy  # noqa: E402
from tests.agent.scenarios import AGENT_PAGES, click  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropicServer, Reply  # noqa: E402
from tests.fakes.policies import Page, accept_when, act, agent_policy, done  # noqa: E402
from tests.flow.drivers import aws_stack  # noqa: E402
from tests.support.fixture_site import FixtureSite  # noqa: E402
from tests.support.functions import FakeLambdaContext, load_function  # noqa: E402
from tests.support.processes import chromium_browsers, descendants, tree_memory_kb  # noqa: E402
from tests.support.template import load_template  # noqa: E402
from tests.support.webhook_receiver import WebhookReceiver, running  # noqa: E402

STEPS = 10
# Lambda's own lines per invocation (START, END, REPORT with the X-Ray segment): ~330 bytes.
PLATFORM_LOG_BYTES = 330
# One HTTP API access-log line in the template's format, with typical values.
ACCESS_LOG_BYTES = 330
# An idle SQS event source: Lambda long-polls (20 s) each queue with 5 pollers.
IDLE_POLLERS_PER_QUEUE = 5

# -- the 10-step task ------------------------------------------------------------------------

TOUR = [
    "Desk lamp",
    "Back to the catalogue",
    "Pocket radio",
    "Back to the catalogue",
    "Electric kettle",
    "Warranty terms",
    "Back to the catalogue",
    "Electric kettle",
    "Warranty terms",
]
PROMPT = "Look at the lamp and the radio, then find the warranty reference code of the electric kettle."


def tour_policy() -> Callable[..., Any]:
    """Nine clicks through the catalogue, then the answer: ten steps."""

    def agent(page: Page) -> Reply:
        if page.turn >= len(TOUR):
            code = re.search(r"WR-\d{4}-[A-Z]", page.observation)
            return done("The warranty page shows the code.", answer=code.group(0) if code else "")
        return act(click(page.element(TOUR[page.turn], role="link")))

    return agent_policy(agent, verifier=accept_when("WR-7731-K"))


# -- counting --------------------------------------------------------------------------------

_running: contextvars.ContextVar[str | None] = contextvars.ContextVar("alto_function", default=None)


def _value_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value (wire JSON)."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = len(v.lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "B":
        return len(v) if isinstance(v, bytes) else len(v) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(x) for k, x in v.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


@dataclass
class Index:
    table: str
    name: str
    keys: list[str]
    projected: list[str] | None  # None: ALL


@dataclass
class Meter:
    """Every billable AWS operation the functions made, by service and function."""

    tables: dict[str, list[str]] = field(default_factory=dict)  # name -> key attributes
    indexes: list[Index] = field(default_factory=list)
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (function, service, op)
    wru: Counter[str] = field(default_factory=Counter)  # by function
    rru: Counter[str] = field(default_factory=Counter)
    gsi_wru: Counter[str] = field(default_factory=Counter)
    ddb_stored: dict[tuple[str, str], int] = field(default_factory=dict)  # (table, key) -> bytes
    s3_put_bytes: int = 0
    s3_get_bytes: int = 0
    s3_stored: dict[str, int] = field(default_factory=dict)
    event_chunks: int = 0
    sqs_requests: int = 0
    ignored_queues: set[str] = field(default_factory=set)
    secrets_calls: int = 0
    lambda_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    log_bytes: Counter[str] = field(default_factory=Counter)
    api_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: list[str] = field(default_factory=list)

    # -- attribution --

    def function(self) -> str | None:
        name = _running.get()
        if name is not None:
            return name
        # Threads started without the context (an executor's) belong to the one function
        # running then; calls made by the bench itself run in none.
        if threading.current_thread() is not threading.main_thread() and len(set(self._in_flight)) == 1:
            return self._in_flight[0]
        return None

    def wrap(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def timed(event: Any, context: Any) -> Any:
            token = _running.set(name)
            with self._lock:
                self._in_flight.append(name)
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                with self._lock:
                    self._in_flight.remove(name)
                    self.lambda_ms[name].append(elapsed)
                _running.reset(token)

        return timed

    # -- botocore hooks --

    def install(self) -> Callable[[], None]:
        original = botocore.session.Session.create_client
        meter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("provide-client-params.*.*", meter._params)
            client.meta.events.register("after-call.*.*", meter._after)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

        def uninstall() -> None:
            botocore.session.Session.create_client = original  # type: ignore[method-assign]

        return uninstall

    def _params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["alto_params"] = dict(params)
        context["alto_function"] = self.function()
        if model.service_model.service_name == "dynamodb":
            context["alto_before"] = self._items_touched(model.name, params)

    def _after(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        function = context.get("alto_function")
        service, op = model.service_model.service_name, model.name
        params = context.get("alto_params") or {}
        if function is None:
            if service == "sqs" and params.get("QueueUrl") not in self.ignored_queues:
                # Lambda's poller of the webhook queue (the bench plays it): billed requests,
                # and each message received was sent there by the EventBridge rule.
                with self._lock:
                    self.sqs_requests += 1 + len(parsed.get("Messages", []))
            return
        with self._lock:
            self.calls[(function, service, op)] += 1
            if service == "dynamodb":
                self._dynamodb(function, op, params, parsed, context.get("alto_before") or {})
            elif service == "s3":
                self._s3(op, params, parsed)
            elif service == "events" and op == "PutEvents":
                for entry in params.get("Entries", []):
                    size = sum(
                        len(str(entry.get(k, "")).encode()) for k in ("Source", "DetailType", "Detail")
                    )
                    self.event_chunks += max(1, math.ceil(size / price.EVENT_CHUNK_BYTES))
            elif service == "sqs":
                if params.get("QueueUrl") not in self.ignored_queues:
                    self.sqs_requests += 1
            elif service == "secretsmanager":
                self.secrets_calls += 1

    # -- DynamoDB --

    def _key(self, table: str, item: dict[str, Any]) -> tuple[str, str]:
        return table, json.dumps([item.get(k) for k in self.tables.get(table, [])], sort_keys=True)

    def _items_touched(self, op: str, params: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any] | None]:
        """The items a write will change, as stored before it (for index writes)."""
        touched: dict[tuple[str, str], dict[str, Any] | None] = {}
        for table, item in self._writes(op, params):
            key = self._key(table, item)
            touched[key] = _moto_item(table, {k: item[k] for k in self.tables.get(table, []) if k in item})
        return touched

    def _writes(self, op: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if op == "PutItem":
            return [(params["TableName"], params["Item"])]
        if op in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"])]
        if op == "TransactWriteItems":
            out = []
            for entry in params["TransactItems"]:
                ((kind, spec),) = entry.items()
                if kind == "Put":
                    out.append((spec["TableName"], spec["Item"]))
                elif kind in ("Update", "Delete"):
                    out.append((spec["TableName"], spec["Key"]))
            return out
        if op == "BatchWriteItem":
            out = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        out.append((table, request["PutRequest"]["Item"]))
                    else:
                        out.append((table, request["DeleteRequest"]["Key"]))
            return out
        return []

    def _dynamodb(
        self,
        function: str,
        op: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        before: dict[tuple[str, str], dict[str, Any] | None],
    ) -> None:
        failed = "Error" in parsed
        factor = 2 if op.startswith("Transact") else 1
        if op == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, spec),) = entry.items()
                if kind == "ConditionCheck":
                    # Checked, not written: charged as a transactional read of the item.
                    self.rru[function] += 2 * _read_units(
                        item_size(_moto_item(spec["TableName"], spec["Key"])), True
                    )
        for table, item in self._writes(op, params):
            key = self._key(table, item)
            old = before.get(key)
            new = (
                None
                if failed
                else _moto_item(table, {k: item[k] for k in self.tables.get(table, []) if k in item})
            )
            size = max(item_size(old), item_size(new), 1)
            self.wru[function] += factor * math.ceil(size / 1024)
            if new is None:
                self.ddb_stored.pop(key, None)
            else:
                self.ddb_stored[key] = item_size(new)
            for index in self.indexes:
                if index.table == table:
                    self.gsi_wru[function] += _index_writes(index, self.tables[table], old, new)
        consistent = bool(params.get("ConsistentRead"))
        if op == "GetItem":
            self.rru[function] += _read_units(item_size(parsed.get("Item")), consistent)
        elif op in ("Query", "Scan"):
            # One charge for the items read, rounded up to 4 KB once (not per item).
            total = sum(item_size(i) for i in parsed.get("Items", []))
            self.rru[function] += _read_units(total, consistent)
        elif op == "TransactGetItems":
            for response in parsed.get("Responses", []):
                self.rru[function] += 2 * _read_units(item_size(response.get("Item")), True)
        elif op == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                for got in items:
                    self.rru[function] += _read_units(item_size(got), consistent)

    # -- S3 --

    def _s3(self, op: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        if op in ("PutObject", "UploadPart"):
            body = params.get("Body", b"")
            size = len(body) if isinstance(body, bytes | str) else int(params.get("ContentLength") or 0)
            self.s3_put_bytes += size
            self.s3_stored[params["Key"]] = size
        elif op == "GetObject":
            self.s3_get_bytes += int(parsed.get("ContentLength") or 0)


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


def _index_writes(
    index: Index, table_keys: list[str], old: dict[str, Any] | None, new: dict[str, Any] | None
) -> int:
    """Write units the index takes for one item changing from `old` to `new` (DynamoDB writes an
    index entry only for items carrying the index's keys, and only when a projected attribute
    or a key changed; a changed index key deletes the old entry and puts the new one)."""

    def projected(item: dict[str, Any] | None) -> dict[str, Any] | None:
        if not item or any(k not in item for k in index.keys):
            return None
        names = (
            set(index.keys) | set(table_keys) | set(index.projected if index.projected is not None else item)
        )
        return {k: v for k, v in item.items() if k in names}

    before, after = projected(old), projected(new)
    if before == after:
        return 0
    units = 0
    if before is not None and (after is None or any(before.get(k) != after.get(k) for k in index.keys)):
        units += math.ceil(max(item_size(before), 1) / 1024)
    if after is not None:
        units += math.ceil(max(item_size(after), 1) / 1024)
    return units


def _moto_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """An item as moto stores it now (wire JSON), read from its backend without a request."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        stored = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(table)
    except Exception:
        return None
    names = [stored.hash_key_attr, *([stored.range_key_attr] if stored.range_key_attr else [])]
    if any(n not in key for n in names):
        return None
    hash_key = DynamoType(key[names[0]])
    range_key = DynamoType(key[names[1]]) if len(names) > 1 else None
    try:
        item = stored.get_item(hash_key, range_key)
    except Exception:
        return None
    if item is None:
        return None
    out: dict[str, Any] = item.to_json()["Attributes"]
    return out


# -- log bytes -------------------------------------------------------------------------------


class CountingStdout:
    """Stands in for stdout while the functions run: counts what each function's loggers and
    metrics write (Lambda ingests stdout into CloudWatch Logs), and drops it."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    def write(self, text: str) -> int:
        name = self.meter.function()
        if name is not None:
            self.meter.log_bytes[name] += len(text.encode())
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


# -- memory and /tmp ------------------------------------------------------------------------


@dataclass
class Peak:
    chromium_rss_mb: float = 0.0
    chromium_pss_mb: float = 0.0
    driver_rss_mb: float = 0.0
    tmp_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def watch(self, tmp_root: Path, interval_s: float = 0.1) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(interval_s):
                self.sample(tmp_root)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def sample(self, tmp_root: Path) -> None:
        for browser in chromium_browsers():
            rss, pss = tree_memory_kb(browser)
            self.chromium_rss_mb = max(self.chromium_rss_mb, rss / 1024)
            self.chromium_pss_mb = max(self.chromium_pss_mb, pss / 1024)
        for pid in descendants():
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"playwright" in args and b"run-driver" in args:
                rss, _ = tree_memory_kb(pid)
                browsers = sum(tree_memory_kb(b)[0] for b in chromium_browsers(pid))
                self.driver_rss_mb = max(self.driver_rss_mb, (rss - browsers) / 1024)
        self.tmp_mb = max(self.tmp_mb, _du_mb(tmp_root))

    def stop(self) -> None:
        self._stop.set()


def _du_mb(root: Path) -> float:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                pass
    return total / 1024 / 1024


def function_python_mb() -> float:
    """RSS of a fresh Python with the agent_step entry point imported (its runtime, before the
    browser): what the function holds besides Chromium and Playwright's driver."""
    code = (
        "import sys; sys.path.insert(0, {!r}); sys.path.insert(0, {!r})\n"
        "from tests.support.functions import load_function\n"
        "load_function('agent_step')\n"
        "import altostratus.adapters.browser.provider, altostratus.engine.agent.runner\n"
        "print(open('/proc/self/status').read())"
    ).format(str(ROOT), str(ROOT / "shared"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    rss = re.search(r"VmRSS:\s+(\d+) kB", out)
    return int(rss.group(1)) / 1024 if rss else 0.0


# -- warm browser: launch vs reuse --------------------------------------------------------


def browser_open_ms(site: FixtureSite, rounds: int = 5) -> tuple[float, float]:
    """(first open: launch + context, median of the next opens: health check + context)."""
    provider = ChromiumBrowserProvider(
        launch=LaunchConfig(),
        policy=TargetPolicy.parse("", allow_loopback=True),
        proxies={},
        reuse_browser=True,
    )
    request = RunTaskRequest.model_validate({"prompt": "x", "url": site.url(f"/{AGENT_PAGES}/shop.html")})
    # What the provider reads of a run's view.
    view: Any = SimpleNamespace(max_screenshot_scrolls=0, browser_session_id=None)

    async def once() -> float:
        started = time.perf_counter()
        async with provider.open(view, request, None) as opened:
            elapsed = (time.perf_counter() - started) * 1000
            await opened.agent.execute("navigate", {"url": request.url})  # the context works
        return elapsed

    async def measure() -> tuple[float, float]:
        first = await once()
        again = [await once() for _ in range(rounds)]
        await provider.close()
        return first, statistics.median(again)

    return asyncio.run(measure())


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Measured:
    meter: Meter
    transitions: int
    steps: int
    llm_calls: int
    invocations: Counter[str]
    status: str
    webhook_delivered: bool
    peak: Peak


def _wire_webhooks(stack: Any, meter: Meter, template: dict[str, Any]) -> str:
    """The template's webhook rule, queue and function on the flow's bus."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    url = sqs.create_queue(QueueName="webhook", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = template["Resources"]["WebhookRule"]["Properties"]["EventPattern"]
    events.put_rule(Name="webhook", EventBusName="altostratus-flow", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="webhook", EventBusName="altostratus-flow", Targets=[{"Id": "q", "Arn": arn}])
    stack.monkeypatch.setenv("ALTO_WEBHOOK_QUEUE_URL", url)
    stack.lambdas.deploy("webhook", meter.wrap("webhook", load_function("webhook").handler))
    boto3.client("lambda", region_name="us-east-1").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="webhook", BatchSize=5
    )
    return url


def _tables(meter: Meter) -> None:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    for name in ddb.list_tables()["TableNames"]:
        table = ddb.describe_table(TableName=name)["Table"]
        meter.tables[name] = [k["AttributeName"] for k in table["KeySchema"]]
        for index in table.get("GlobalSecondaryIndexes", []):
            projection = index["Projection"]
            kind = projection["ProjectionType"]
            meter.indexes.append(
                Index(
                    table=name,
                    name=index["IndexName"],
                    keys=[k["AttributeName"] for k in index["KeySchema"]],
                    projected=None if kind == "ALL" else list(projection.get("NonKeyAttributes", [])),
                )
            )


def play(site: FixtureSite, template: dict[str, Any]) -> Measured:
    meter = Meter()
    uninstall = meter.install()
    monkeypatch = pytest.MonkeyPatch()
    real_stdout = sys.stdout
    peak = Peak()
    tmp_root = Path(tempfile.gettempdir())
    try:
        with (
            FakeAnthropicServer(tour_policy()) as model,
            running(WebhookReceiver()) as receiver,
        ):
            monkeypatch.setenv("ALTO_RECORDING", "true")
            sys.stdout = CountingStdout(meter)  # type: ignore[assignment]
            with aws_stack(monkeypatch, model) as stack:
                meter.ignored_queues.add(stack.everything_url)
                _tables(meter)
                for name, handler in list(stack.lambdas.handlers.items()):
                    stack.lambdas.handlers[name] = meter.wrap(name, handler)
                stack.lambdas.handlers["agent_step"] = meter.wrap(
                    "agent_step", load_function("agent_step").handler
                )
                api_handler = stack.api.handler
                stack.api = type("Api", (), {"handler": staticmethod(meter.wrap("api", api_handler))})
                _wire_webhooks(stack, meter, template)
                watcher = peak.watch(tmp_root)
                request = {
                    "prompt": PROMPT,
                    "url": site.url(f"/{AGENT_PAGES}/shop.html"),
                    "webhook_url": receiver.url,
                    "max_steps": STEPS + 2,
                }
                reply = stack.call_api("POST", "/v1/run/tasks", request)
                assert reply["statusCode"] == 200, reply["body"]
                meter.api_requests += 1
                run_id = json.loads(reply["body"])["run_id"]
                sfn = boto3.client("stepfunctions", region_name="us-east-1")
                arn = (
                    os.environ["ALTO_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:")
                    + f":{run_id}"
                )
                deadline = time.monotonic() + 600
                while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    assert time.monotonic() < deadline, "the run did not end"
                    time.sleep(0.1)
                stack.lambdas.drain()
                got = stack.call_api("GET", f"/v1/runs/{run_id}")  # the client reads the result
                meter.api_requests += 1
                peak.stop()
                watcher.join()
                history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                view = aws_runtime.runtime().event_log.get_view(run_id)
                assert view is not None
                body = json.loads(got["body"])
                delivered = any(json.loads(r.body).get("run_id") == run_id for r in receiver.received)
    finally:
        sys.stdout = real_stdout
        monkeypatch.undo()
        uninstall()
    # Standard workflows are billed per state entered, retries included.
    transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
    transitions += sum(1 for e in history if e["type"] == "TaskScheduled") - sum(
        1 for e in history if e["type"] == "TaskStateEntered"
    )
    return Measured(
        meter=meter,
        transitions=transitions,
        steps=view.step_count,
        llm_calls=int(body["model_usage"]["llm_calls"]),
        invocations=Counter({name: len(ms) for name, ms in meter.lambda_ms.items()}),
        status=view.status.value,
        webhook_delivered=delivered,
        peak=peak,
    )


# -- pricing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionShape:
    memory_mb: int
    architecture: str
    ephemeral_mb: int = 512


def function_shapes(
    template: dict[str, Any], agent_memory: int | None, arch: str | None
) -> dict[str, FunctionShape]:
    """Each function's memory and architecture as template.yaml deploys it (parameters at
    their defaults unless given)."""
    params = template["Parameters"]
    default_memory = int(template["Globals"]["Function"]["MemorySize"])
    names = {
        "ApiFunction": "api",
        "RunStartFunction": "run_start",
        "AgentStepFunction": "agent_step",
        "RunFinishFunction": "run_finish",
        "RunFailedFunction": "run_failed",
        "PublisherFunction": "publisher",
        "WebhookFunction": "webhook",
        "RunSweeperFunction": "run_sweeper",
    }
    shapes = {}
    for resource, name in names.items():
        props = template["Resources"][resource]["Properties"]
        memory = props.get("MemorySize", default_memory)
        if isinstance(memory, dict):
            memory = params[memory["Ref"]]["Default"]
        archs = props.get("Architectures", ["x86_64"])
        architecture = archs[0]
        if isinstance(architecture, dict):
            architecture = params[architecture["Ref"]]["Default"]
        ephemeral = int((props.get("EphemeralStorage") or {}).get("Size", 512))
        shapes[name] = FunctionShape(int(memory), str(architecture), ephemeral)
    agent = shapes["agent_step"]
    shapes["agent_step"] = FunctionShape(
        agent_memory or agent.memory_mb, arch or agent.architecture, agent.ephemeral_mb
    )
    return shapes


def retention_months(template: dict[str, Any]) -> float:
    return float(template["Parameters"]["RetentionDays"]["Default"]) / price.DAYS_PER_MONTH


def publisher_batches(steps: int) -> int:
    """Stream batches the publisher gets for one run on AWS. moto invokes it once per write;
    Lambda batches a shard's records for up to a second (MaximumBatchingWindowInSeconds), and a
    step's writes come in two bursts a model wait apart (its start; its actions and end), so a
    run is about two batches a step plus its start and its end."""
    return 2 * steps + 2


def price_run(
    measured: Measured, shapes: dict[str, FunctionShape], model_wait_s: float, template: dict[str, Any]
) -> list[tuple[str, str, float]]:
    """(service, what was counted, dollars) per line."""
    m = measured.meter
    lines: list[tuple[str, str, float]] = []
    for name, durations in sorted(m.lambda_ms.items()):
        shape = shapes[name]
        seconds = sum(math.ceil(ms) for ms in durations) / 1000
        invocations = len(durations)
        if name == "publisher":
            invocations = publisher_batches(measured.steps)
        if name == "agent_step":
            seconds += model_wait_s * measured.steps
        gb_s = seconds * shape.memory_mb / 1024
        cost = gb_s * price.lambda_gb_second(shape.architecture) + invocations * price.LAMBDA_REQUEST
        cost += seconds * max(0, shape.ephemeral_mb - 512) / 1024 * price.LAMBDA_EPHEMERAL_GB_SECOND
        wait = (
            f" incl. {model_wait_s:g} s model wait x {measured.steps} steps" if name == "agent_step" else ""
        )
        lines.append(
            (
                f"Lambda {name}",
                f"{invocations} inv, {seconds:.1f} s{wait} "
                f"at {shape.memory_mb} MB {shape.architecture} = {gb_s:.2f} GB-s",
                cost,
            )
        )
    lines.append(
        (
            "Step Functions",
            f"{measured.transitions} state transitions",
            measured.transitions * price.SFN_STATE_TRANSITION,
        )
    )
    wru, rru, gsi = sum(m.wru.values()), sum(m.rru.values()), sum(m.gsi_wru.values())
    lines.append(
        (
            "DynamoDB requests",
            f"{wru} WRU + {gsi} index WRU, {rru:g} RRU",
            (wru + gsi) * price.DDB_WRITE_UNIT + rru * price.DDB_READ_UNIT,
        )
    )
    months = retention_months(template)
    stored_gb = sum(m.ddb_stored.values()) / 1024**3
    lines.append(
        (
            "DynamoDB storage",
            f"{sum(m.ddb_stored.values()) / 1024:.0f} KB for {months:.1f} months (+PITR)",
            stored_gb * months * (price.DDB_STORAGE_GB_MONTH + price.DDB_PITR_GB_MONTH),
        )
    )
    s3_writes = sum(
        n
        for (_, s, op), n in m.calls.items()
        if s == "s3"
        and op
        in (
            "PutObject",
            "CopyObject",
            "ListObjectsV2",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
        )
    )
    s3_reads = sum(n for (_, s, op), n in m.calls.items() if s == "s3" and op in ("GetObject", "HeadObject"))
    lines.append(
        (
            "S3 requests",
            f"{s3_writes} PUT, {s3_reads} GET "
            f"({m.s3_put_bytes / 1024:.0f} KB in, {m.s3_get_bytes / 1024:.0f} KB out)",
            s3_writes * price.S3_WRITE_REQUEST + s3_reads * price.S3_READ_REQUEST,
        )
    )
    s3_gb = sum(m.s3_stored.values()) / 1024**3
    lines.append(
        (
            "S3 storage",
            f"{sum(m.s3_stored.values()) / 1024:.0f} KB for {months:.1f} months",
            s3_gb * months * price.S3_STORAGE_GB_MONTH,
        )
    )
    lines.append(
        ("EventBridge", f"{m.event_chunks} events published", m.event_chunks * price.EVENTBRIDGE_EVENT)
    )
    lines.append(("SQS", f"{m.sqs_requests} requests", m.sqs_requests * price.SQS_REQUEST))
    invocations = sum(measured.invocations.values()) - measured.invocations["publisher"]
    invocations += publisher_batches(measured.steps)
    log_bytes = (
        sum(m.log_bytes.values()) + invocations * PLATFORM_LOG_BYTES + m.api_requests * ACCESS_LOG_BYTES
    )
    log_gb = log_bytes / 1024**3
    lines.append(
        (
            "CloudWatch Logs",
            f"{log_bytes / 1024:.0f} KB ingested, kept 1 month",
            log_gb * (price.LOGS_INGEST_GB + price.LOGS_STORAGE_GB_MONTH),
        )
    )
    lines.append(("API Gateway", f"{m.api_requests} requests", m.api_requests * price.HTTP_API_REQUEST))
    lines.append(
        (
            "Secrets Manager",
            f"{m.secrets_calls} GetSecretValue (cold starts)",
            m.secrets_calls * price.SECRETS_API_CALL,
        )
    )
    # At low traffic the sampling rule's reservoir (1 a second) records every trace: one per
    # API request, execution, stream batch and queue batch.
    traces = m.api_requests + 1 + publisher_batches(measured.steps) + measured.invocations["webhook"]
    lines.append(("X-Ray", f"{traces} traces", traces * price.XRAY_TRACE))
    return lines


def idle_month(
    template: dict[str, Any], sweeper_ms: float, sweeper_log_bytes: int, image_gb: float
) -> list[tuple[str, str, float]]:
    resources = template["Resources"]
    kinds = Counter(r["Type"] for r in resources.values())
    lines: list[tuple[str, str, float]] = []
    alarms = kinds["AWS::CloudWatch::Alarm"]
    lines.append(("CloudWatch alarms", f"{alarms} alarms", alarms * price.ALARM_MONTH))
    secrets = kinds["AWS::SecretsManager::Secret"]
    lines.append(
        ("Secrets Manager", f"{secrets} secrets (created when no ARN is given)", secrets * price.SECRET_MONTH)
    )
    keys = kinds["AWS::KMS::Key"]
    lines.append(("KMS", f"{keys} customer key (the alarm topic's)", keys * price.KMS_KEY_MONTH))
    runs = 30 * 24 * 12  # rate(5 minutes)
    seconds = runs * math.ceil(sweeper_ms) / 1000
    lines.append(
        (
            "Lambda run_sweeper",
            f"{runs} scheduled inv x {sweeper_ms:.0f} ms at 512 MB",
            seconds * 0.5 * price.lambda_gb_second("x86_64") + runs * price.LAMBDA_REQUEST,
        )
    )
    sweeper_logs = runs * (sweeper_log_bytes + PLATFORM_LOG_BYTES) / 1024**3
    lines.append(
        (
            "CloudWatch Logs",
            f"sweeper: {sweeper_logs * 1024:.0f} MB a month",
            sweeper_logs * (price.LOGS_INGEST_GB + price.LOGS_STORAGE_GB_MONTH),
        )
    )
    lines.append(("CloudWatch metrics", "2 custom metrics the sweeper emits", 2 * price.CUSTOM_METRIC_MONTH))
    lines.append(("X-Ray", f"{runs} sweeper traces", runs * price.XRAY_TRACE))
    queues = sum(
        1
        for r in resources.values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in (r["Properties"].get("Events") or {}).values()
        if e["Type"] == "SQS"
    )
    polls = queues * IDLE_POLLERS_PER_QUEUE * 3 * 60 * 24 * 30
    lines.append(
        (
            "SQS",
            f"{queues} queues long-polled by Lambda "
            f"({IDLE_POLLERS_PER_QUEUE} pollers, 20 s): {polls} receives",
            polls * price.SQS_REQUEST,
        )
    )
    lines.append(("ECR", f"the agent_step image, ~{image_gb:g} GB", image_gb * price.ECR_GB_MONTH))
    return lines


def sweeper_idle(site: FixtureSite) -> tuple[float, int]:
    """One scheduled sweep with nothing to do: (compute ms, log bytes), on a fresh moto stack."""
    meter = Meter()
    uninstall = meter.install()
    monkeypatch = pytest.MonkeyPatch()
    real_stdout = sys.stdout
    try:
        with FakeAnthropicServer(tour_policy()) as model:
            sys.stdout = CountingStdout(meter)  # type: ignore[assignment]
            with aws_stack(monkeypatch, model) as _stack:
                handler = meter.wrap("run_sweeper", load_function("run_sweeper").handler)
                handler({"source": "aws.events"}, FakeLambdaContext("run_sweeper"))  # cold
                meter.lambda_ms.clear()
                meter.log_bytes.clear()
                for _ in range(5):
                    handler({"source": "aws.events"}, FakeLambdaContext("run_sweeper"))
    finally:
        sys.stdout = real_stdout
        monkeypatch.undo()
        uninstall()
    return statistics.median(meter.lambda_ms["run_sweeper"]), meter.log_bytes["run_sweeper"] // 5


def table(title: str, lines: list[tuple[str, str, float]], footer: list[tuple[str, float]]) -> Table:
    out = Table(title=title)
    out.add_column("service")
    out.add_column("counted")
    out.add_column("USD", justify="right")
    for service, what, cost in lines:
        out.add_row(service, what, f"{cost:.6f}")
    for label, cost in footer:
        out.add_row(f"[bold]{label}[/bold]", "", f"[bold]{cost:.6f}[/bold]")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-wait", type=float, default=15.0, help="seconds agent_step waits for the model per step"
    )
    parser.add_argument(
        "--agent-memory", type=int, default=None, help="agent_step MB (default: the template's)"
    )
    parser.add_argument("--arch", choices=["x86_64", "arm64"], default=None, help="agent_step architecture")
    parser.add_argument("--image-gb", type=float, default=1.5, help="size of the agent_step image in ECR")
    args = parser.parse_args()

    # A temp dir of its own, which Chromium, Playwright and the recorder inherit: what they
    # leave there is what agent_step puts in /tmp.
    tmp = tempfile.mkdtemp(prefix="alto-bench-cost-")
    os.environ["TMPDIR"] = tmp
    tempfile.tempdir = None
    console = Console(stderr=True)
    template = load_template()
    shapes = function_shapes(template, args.agent_memory, args.arch)
    with FixtureSite() as site:
        launch_ms, reuse_ms = browser_open_ms(site)
        measured = play(site, template)
        sweeper_ms, sweeper_logs = sweeper_idle(site)
    python_mb = function_python_mb()
    if measured.status != "completed" or measured.steps != STEPS:
        raise SystemExit(f"the scenario did not run as planned: {measured.status}, {measured.steps} steps")

    lines = price_run(measured, shapes, args.model_wait, template)
    per_run = sum(cost for _, _, cost in lines)
    per_step = per_run / measured.steps
    idle = idle_month(template, sweeper_ms, sweeper_logs, args.image_gb)
    idle_total = sum(cost for _, _, cost in idle)
    agent = shapes["agent_step"]
    console.print(
        table(
            f"One {measured.steps}-step run on AWS ({price.REGION} list prices of {price.AS_OF}); "
            f"agent_step {agent.memory_mb} MB {agent.architecture}, {args.model_wait:g} s model wait a step",
            lines,
            [("per run", per_run), ("per step", per_step)],
        )
    )
    console.print(table("A deployed stack with no runs, per month", idle, [("per month", idle_total)]))
    peak = measured.peak
    function_peak = python_mb + peak.driver_rss_mb + peak.chromium_pss_mb
    console.print(
        f"Chromium peak: {peak.chromium_pss_mb:.0f} MB PSS ({peak.chromium_rss_mb:.0f} MB RSS) "
        "for its process tree; "
        f"Playwright driver {peak.driver_rss_mb:.0f} MB; the function's Python {python_mb:.0f} MB; "
        f"/tmp peak {peak.tmp_mb:.0f} MB; browser launch {launch_ms:.0f} ms vs reuse {reuse_ms:.0f} ms. "
        f"Webhook delivered: {measured.webhook_delivered}. Model calls: {measured.llm_calls}."
    )
    figures = {
        "aws_usd_per_step": round(per_step, 7),
        "aws_usd_per_run_10_steps": round(per_step * 10, 6),
        "idle_usd_per_month": round(idle_total, 2),
        "agent_step_memory_mb": agent.memory_mb,
        "agent_step_architecture": agent.architecture,
        "model_wait_s": args.model_wait,
        "agent_step_compute_s_per_step": round(
            sum(measured.meter.lambda_ms["agent_step"]) / 1000 / measured.steps, 3
        ),
        "chromium_peak_pss_mb": round(peak.chromium_pss_mb),
        "chromium_peak_rss_mb": round(peak.chromium_rss_mb),
        "playwright_driver_mb": round(peak.driver_rss_mb),
        "function_python_mb": round(python_mb),
        "agent_step_peak_mb": round(function_peak),
        "tmp_peak_mb": round(peak.tmp_mb, 1),
        "browser_launch_ms": round(launch_ms, 1),
        "browser_reuse_ms": round(reuse_ms, 1),
        "prices_as_of": price.AS_OF,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
