"""Running a replay plan: no model is involved, only the browser port the agent uses.

Each step finds its element through the recorded selector bundle (`AgentBrowser.locate`: the
first entry matching exactly one visible, enabled element), acts with the same browser action
the agent would have used, and checks the effect the recording saw (the address it led to, the
value the field reads back, a checkbox's state, a download). The first step that cannot find
its element or get its secret, acts without the recorded effect, or times out stops the
replay: the result names it and says why, so the caller can fail the run or hand the page to
the agent with "steps 1..k are done". The output is read from the recorded elements and
validated against the run's schema.

Secrets are typed by name: the resolver gives a step's value (a credential's field, a fresh
one-time code) when the step comes, before its timeout starts, since a code may take minutes
to arrive; a resolver that waits for it elsewhere stops the replay before that step, which a
later call starts at. Every value the run knows (`redaction`) and every secret typed is hidden from what
is recorded.

Every executed step is recorded like an agent's action, marked `created_by="script"`, through
the engine's recorder (the caller starts and finishes the step around the replay).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus, ActionType
from altostratus.domain.replay.compile import strip_query
from altostratus.domain.replay.matching import describe
from altostratus.domain.replay.plan import ExtractField, ParameterRef, PlanStep, ReplayPlan, SecretRef, Value
from altostratus.domain.replay.targets import ObservedEffect
from altostratus.engine.agent.recorder import Recorder
from altostratus.engine.agent.secrets import Secrets, placeholder
from altostratus.ports.browser import AgentBrowser, Effect

# Asked of the secret resolver for a `totp-code` step: a fresh one-time code for the run.
VERIFICATION_CODE = "verification_code"
# A secret's value by name; None (or SecretUnavailableError, with the reason) when there is none.
SecretResolver = Callable[[str], Awaitable[str | None]]
_POLL_S = 0.25
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
_ACTION_TYPES: dict[str, ActionType] = {
    "navigate": ActionType.GOTO_URL,
    "click": ActionType.CLICK,
    "hover": ActionType.HOVER,
    "fill": ActionType.INPUT_TEXT,
    "select": ActionType.SELECT_OPTION,
    "check": ActionType.CHECKBOX,
    "press": ActionType.KEYPRESS,
    "scroll": ActionType.SCROLL,
    "wait": ActionType.WAIT,
    "totp-code": ActionType.INPUT_TEXT,
}


class ReplayResult(BaseModel):
    """How a replay ended. `failed_step` is the 1-based index of the step that failed (0: the
    start page could not be opened; len(steps) + 1: the extraction), `steps_done` how many
    steps were done before it."""

    model_config = ConfigDict(frozen=True)

    completed: bool
    output: Any = None
    steps_done: int
    failed_step: int | None = None
    reason: str | None = None
    # The step (1-based) whose secret is waited for outside the replay; the replay goes on from
    # it once the secret is there (`SecretPendingError`).
    waiting_at: int | None = None


class SecretUnavailableError(Exception):
    """Raised by a secret resolver that cannot give the value, saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SecretPendingError(Exception):
    """Raised by a secret resolver whose value is not there yet and is waited for outside the
    replay (a one-time code waited for between slices): the replay stops before that step,
    having typed nothing for it, and can be run again from it (`start_at`)."""


class StepFailedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _no_secrets(_name: str) -> str | None:
    return None


async def replay_plan(
    plan: ReplayPlan,
    parameters: Mapping[str, str],
    browser: AgentBrowser,
    *,
    recorder: Recorder | None = None,
    secrets: SecretResolver = _no_secrets,
    redaction: Secrets | None = None,
    start_at: int = 1,
    open_start_url: bool = True,
    step_timeout_s: float = 10.0,
) -> ReplayResult:
    """Run `plan` from step `start_at` (1-based) on `browser`, with `parameters` overriding the
    plan's defaults (unknown names are refused before anything runs). `redaction`: the run's
    known secret values, hidden from everything recorded."""
    unknown = sorted(set(parameters) - {p.name for p in plan.parameters if p.type == "string"})
    if unknown:
        return ReplayResult(
            completed=False,
            steps_done=0,
            failed_step=0,
            reason=f"unknown parameter(s): {', '.join(unknown)}",
        )
    run = _Replay(plan, parameters, browser, recorder, secrets, redaction or Secrets({}), step_timeout_s)
    done = max(0, start_at - 1)
    if open_start_url and plan.start_url and start_at <= 1:
        effect = await browser.open(plan.start_url)
        if not effect.ok:
            reason = f"the start page {plan.start_url} could not be opened: {effect.summary}"
            return ReplayResult(completed=False, steps_done=0, failed_step=0, reason=reason)
    for index in range(done + 1, len(plan.steps) + 1):
        step = plan.steps[index - 1]
        try:
            # A step's value first, untimed: waiting for a one-time code is not the page failing.
            value = await run.value(index, step)
            await asyncio.wait_for(run.step(index, step, value), timeout=step_timeout_s * 3)
        except SecretPendingError:
            return ReplayResult(completed=False, steps_done=index - 1, waiting_at=index)
        except StepFailedError as failed:
            return ReplayResult(
                completed=False, steps_done=index - 1, failed_step=index, reason=failed.reason
            )
        except TimeoutError:
            reason = f"step {index} ({step.description}) timed out"
            run.record_failure(index, step, reason)
            return ReplayResult(completed=False, steps_done=index - 1, failed_step=index, reason=reason)
    try:
        output = await run.extract()
    except StepFailedError as failed:
        return ReplayResult(
            completed=False,
            steps_done=len(plan.steps),
            failed_step=len(plan.steps) + 1,
            reason=failed.reason,
        )
    return ReplayResult(completed=True, output=output, steps_done=len(plan.steps))


class _Replay:
    def __init__(
        self,
        plan: ReplayPlan,
        parameters: Mapping[str, str],
        browser: AgentBrowser,
        recorder: Recorder | None,
        secrets: SecretResolver,
        redaction: Secrets,
        timeout_s: float,
    ) -> None:
        self.plan = plan
        self.parameters = parameters
        self.browser = browser
        self.rec = recorder
        self.resolve_secret = secrets
        self.timeout_s = timeout_s
        # The run's known values and the secrets typed so far, hidden from what is recorded.
        self.redaction = redaction

    # -- values --

    async def value(self, index: int, step: PlanStep) -> str | None:
        """What the step types: its value, or for a `totp-code` step a fresh code."""
        if step.kind == "totp-code":
            return await self.secret(index, step, VERIFICATION_CODE)
        value: Value | None = step.value
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, ParameterRef):
            if value.parameter in self.parameters:
                return self.parameters[value.parameter]
            declared = self.plan.parameter(value.parameter)
            if declared is None or declared.default is None:
                raise StepFailedError(f"step {index} ({step.description}): no value for {value.parameter}")
            return declared.default
        assert isinstance(value, SecretRef)
        return await self.secret(index, step, value.secret)

    async def secret(self, index: int, step: PlanStep, name: str) -> str:
        try:
            found = await self.resolve_secret(name)
        except SecretUnavailableError as missing:
            raise StepFailedError(f"step {index} ({step.description}): {missing.reason}") from None
        if not found:
            raise StepFailedError(f"step {index} ({step.description}): the secret {name!r} is not available")
        self.redaction = self.redaction.with_value(name, found)
        return found

    def redact(self, data: Any) -> Any:
        return self.redaction.redact_any(data)

    # -- steps --

    async def locate(self, index: int, step: PlanStep, target: Any) -> str:
        """The element id of the step's target, waiting a little for a page still loading."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            found = await self.browser.locate(target)
            if found.element_id is not None:
                return found.element_id
            if time.monotonic() >= deadline:
                raise StepFailedError(f"step {index} ({step.description}): {found.reason or 'not found'}")
            await asyncio.sleep(_POLL_S)

    async def step(self, index: int, step: PlanStep, value: str | None) -> None:
        kind = step.kind
        params: dict[str, Any]
        shown: dict[str, Any]
        if kind == "totp-code":
            await self.totp(index, step, value or "")
            return
        element = await self.locate(index, step, step.target) if step.target is not None else None
        on = {"element": element} if element is not None else {}
        if kind == "navigate":
            tool, params = "navigate", {"url": value or ""}
        elif kind in ("click", "hover"):
            tool, params = kind, on
        elif kind == "fill":
            tool, params = "type", {**on, "text": value or "", "submit": step.submit}
        elif kind == "select":
            tool, params = "select", {**on, "option": value or ""}
        elif kind == "check":
            tool, params = "check", {**on, "checked": step.checked is not False}
        elif kind == "press":
            tool, params = "press", {**on, "keys": value or "Enter"}
        elif kind == "scroll":
            tool, params = (
                "scroll",
                {**on, "direction": step.direction or "down", "amount": step.amount or 1.0},
            )
        elif value is not None:
            tool, params = "wait", {"text": value, "timeout_ms": int(self.timeout_s * 1000)}
        elif element is not None:
            tool, params = "wait", {**on, "timeout_ms": int(self.timeout_s * 1000)}
        else:
            tool, params = "wait", {"network_quiet": True, "timeout_ms": int(self.timeout_s * 1000)}
        shown = self.redact(params)
        if isinstance(step.value, SecretRef):
            shown = {**shown, "text": placeholder(step.value.secret)}
        self.planned(index, step, tool, shown)
        effect = await self.browser.execute(tool, params)
        problem = None if effect.ok else f"{effect.summary}"
        if problem is None:
            problem = await self.check(step, effect)
        self.executed(index, effect, problem)
        if problem is not None:
            raise StepFailedError(f"step {index} ({step.description}): {problem}")

    async def totp(self, index: int, step: PlanStep, code: str) -> None:
        boxes = [step.target, *step.more_targets]
        parts = [code] if len(boxes) == 1 else list(code)
        if len(parts) != len(boxes):
            raise StepFailedError(
                f"step {index} ({step.description}): the code has {len(code)} characters for "
                f"{len(boxes)} boxes"
            )
        self.planned(index, step, "enter_verification_code", {"boxes": len(boxes)})
        effect: Effect | None = None
        for box, part in zip(boxes, parts, strict=True):
            element = await self.locate(index, step, box)
            effect = await self.browser.execute("type", {"element": element, "text": part})
            if not effect.ok:
                self.executed(index, effect, effect.summary)
                raise StepFailedError(f"step {index} ({step.description}): {self.redact(effect.summary)}")
        assert effect is not None
        problem = await self.check(step, effect)
        self.executed(index, effect, problem)
        if problem is not None:
            raise StepFailedError(f"step {index} ({step.description}): {problem}")

    async def check(self, step: PlanStep, effect: Effect) -> str | None:
        """What differs from the recorded effect, or None."""
        expect = step.expect
        if expect.value_matches and effect.details.get("value_matches") is False:
            return "the field does not read back the value typed"
        if expect.checked is not None and effect.details.get("checked") not in (None, expect.checked):
            return f"the box is {'not ' if expect.checked else ''}checked afterwards"
        if expect.url is not None:
            url = await self.wait_for_url(expect.url, str(effect.details.get("url") or ""))
            if strip_query(url) != expect.url:
                return f"the page is {strip_query(url) or 'unknown'}, not {expect.url} as recorded"
        if expect.download is not None:
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                if await self.browser.new_downloads():
                    break
                await asyncio.sleep(_POLL_S)
            else:
                return f"the download {expect.download!r} did not arrive"
        return None

    async def wait_for_url(self, expected: str, now: str) -> str:
        deadline = time.monotonic() + self.timeout_s
        while strip_query(now) != expected and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_S)
            now = (await self.browser.observe(full=False)).url
        return now

    # -- recording --

    def planned(self, index: int, step: PlanStep, tool: str, shown: dict[str, Any]) -> None:
        if self.rec is None:
            return
        text = shown.get("text") if isinstance(shown.get("text"), str) else None
        option = shown.get("option") if isinstance(shown.get("option"), str) else None
        self.rec.stage(
            ev.ActionPlanned(
                step_id=self.rec.step_id,
                action_order=index,
                action_type=_ACTION_TYPES[step.kind],
                tool=tool,
                intention=step.description,
                element_id=shown.get("element") if isinstance(shown.get("element"), str) else None,
                text=text,
                option=option,
                params=shown,
                created_by="script",
            ),
            f"action:{index}:planned",
        )

    def executed(self, index: int, effect: Effect, problem: str | None) -> None:
        if self.rec is None:
            return
        summary = self.redact(effect.summary if problem is None else f"{effect.summary} {problem}")
        self.rec.append(
            ev.ActionExecuted(
                step_id=self.rec.step_id,
                action_order=index,
                status=ActionStatus.COMPLETED if problem is None else ActionStatus.FAILED,
                summary=summary[:4000],
                effect=self.redact(effect.details),
                error=None if problem is None else self.redact(problem)[:1000],
                target=None,
                observed=self.shown_observed(effect),
            ),
            f"action:{index}:executed",
        )

    def shown_observed(self, effect: Effect) -> ObservedEffect | None:
        observed = effect.observed
        if observed is None:
            return observed
        return ObservedEffect.model_validate(self.redact(observed.model_dump(mode="json")))

    def record_failure(self, index: int, step: PlanStep, reason: str) -> None:
        if self.rec is None:
            return
        self.rec.append(
            ev.ActionExecuted(
                step_id=self.rec.step_id,
                action_order=index,
                status=ActionStatus.FAILED,
                summary=reason,
                error=reason,
            ),
            f"action:{index}:executed",
        )

    # -- extraction --

    async def extract(self) -> Any:
        extraction = self.plan.extraction
        if extraction is None:
            return None
        output: Any = None
        for field in extraction.fields:
            value = await self.read(field)
            output = _put(output, field.path, value)
        schema = extraction.data_schema
        if isinstance(schema, dict):
            try:
                jsonschema.validate(output, schema)
            except jsonschema.ValidationError as exc:
                where = "/".join(str(p) for p in exc.absolute_path) or "(the output)"
                reason = f"the extracted output does not match the schema at {where}: {exc.message}"
                raise StepFailedError(reason) from exc
        return output

    async def read(self, field: ExtractField) -> Any:
        where = "/".join(str(p) for p in field.path) or "the output"
        deadline = time.monotonic() + self.timeout_s
        while True:
            found = await self.browser.read_target(field.target)
            if found.text is not None:
                break
            if time.monotonic() >= deadline:
                raise StepFailedError(
                    f"extraction of {where}: {describe(field.target)}: {found.reason or 'not found'}"
                )
            await asyncio.sleep(_POLL_S)
        text = " ".join((found.text or found.value or "").split())
        if field.pattern is not None:
            match = re.search(field.pattern, text)
            if match is None:
                raise StepFailedError(
                    f"extraction of {where}: the element reads {text[:80]!r}, not as recorded"
                )
            text = match.group(1).strip()
        return _convert(text, field.type, where)


def _convert(text: str, kind: str, where: str) -> Any:
    if kind == "string":
        return text
    if kind == "boolean":
        return text.casefold() in ("true", "yes", "1", "on", "checked")
    number = _NUMBER.search(text)
    if number is None:
        raise StepFailedError(f"extraction of {where}: {text[:80]!r} is not a number")
    digits = number.group(0).replace(",", "")
    return int(float(digits)) if kind == "integer" else float(digits)


def _put(container: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = container if isinstance(container, list) else []
        while len(items) <= head:
            items.append(None)
        items[head] = _put(items[head], rest, value)
        return items
    mapping = container if isinstance(container, dict) else {}
    mapping[head] = _put(mapping.get(head), rest, value)
    return mapping
