"""From a completed run's log to its replay plan: a pure function, so the same log always
yields the same plan (byte for byte once rendered with `ReplayPlan.to_json`).

Each completed action becomes a step with the element it acted on (its selector bundle) and
the effect it was seen to have; what was typed or chosen becomes a named parameter whose
default is the recorded value (a secret stays its placeholder); a verification code becomes a
`totp-code` step that asks for a fresh code when replayed; the output becomes selector reads
of the elements its values were read from. What cannot be replayed faithfully is refused with
`PlanNotCompilable`, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from altostratus.domain import events as ev
from altostratus.domain.enums import ActionStatus
from altostratus.domain.errors import DomainError
from altostratus.domain.replay.matching import describe
from altostratus.domain.replay.plan import (
    ExpectedEffect,
    ExtractField,
    Extraction,
    FieldType,
    ParameterRef,
    PlanParameter,
    PlanStep,
    ReplayPlan,
    SecretRef,
    StepKind,
    Value,
)
from altostratus.domain.replay.targets import SelectorBundle, TextSource

# The agent's tools that neither act on the page nor need doing again: reading, planning,
# finishing (the output is read again by the plan's extraction), asking for a code (the
# `totp-code` step asks for its own).
_NOT_REPLAYED = frozenset(
    {
        "extract",
        "find",
        "screenshot",
        "update_checklist",
        "done",
        "request_verification_code",
        "wait_for_user",
    }
)
# The browser layer's actions a plan step can do again, by tool name.
_STEP_KINDS: dict[str, StepKind] = {
    "navigate": "navigate",
    "click": "click",
    "hover": "hover",
    "type": "fill",
    "type_at_focus": "fill",
    "select": "select",
    "check": "check",
    "press": "press",
    "scroll": "scroll",
    "wait": "wait",
}
# Browser actions a plan has no step for (tabs, history, files on the recording machine).
_UNSUPPORTED = frozenset({"back", "forward", "switch_tab", "close_tab", "upload", "drag", "mouse_button"})
ENTER_CODE = "enter_verification_code"
_SECRET = re.compile(r"\{\{secret:([A-Za-z0-9_.-]+)\}\}")
# Where a sentence or a label ends: a value's pattern keeps only the words next to it.
_BREAK = re.compile(r"[.!?\n]")
_CONTEXT_CHARS = 40


class PlanNotCompilableError(DomainError):
    """The run cannot be replayed as a plan; `reason` says why (shown to the user)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The name the plan's users know it by.
PlanNotCompilable = PlanNotCompilableError


def compile_plan(events: Sequence[ev.Event]) -> ReplayPlan:
    """The replay plan of a completed run, from its events in log order."""
    return _Compiler().run(sorted(events, key=lambda e: e.seq))


def strip_query(url: str) -> str:
    """The address without query and fragment (a GET form puts what was typed there)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def parameter_name(target: SelectorBundle | None, fallback: str) -> str:
    """A parameter's name from what the field is called: its label, accessible name, name
    attribute, placeholder, test id or id, in that order; snake_case."""
    raw = fallback
    if target is not None:
        raw = next(
            (
                v
                for v in (
                    target.label,
                    target.name,
                    target.name_attr,
                    target.placeholder,
                    target.test_id.value if target.test_id else None,
                    target.element_id,
                )
                if v and v.strip()
            ),
            fallback,
        )
    name = re.sub(r"[^0-9a-z]+", "_", raw.casefold()).strip("_")[:40].strip("_") or fallback
    return f"p_{name}" if name[0].isdigit() else name


class _Compiler:
    def __init__(self) -> None:
        self.steps: list[PlanStep] = []
        self.parameters: list[PlanParameter] = []

    def run(self, events: list[ev.Event]) -> ReplayPlan:
        created = next((e for e in events if isinstance(e.data, ev.RunCreated)), None)
        if created is None or not isinstance(created.data, ev.RunCreated):
            raise PlanNotCompilableError("the log has no RunCreated event")
        completed = next((e.data for e in events if isinstance(e.data, ev.RunCompleted)), None)
        if completed is None:
            ended = next((e.data.type for e in events if e.data.type in ev.TERMINAL_EVENT_TYPES), None)
            state = f"it ended with {ended}" if ended else "it has not ended"
            raise PlanNotCompilableError(f"only a completed run can be compiled; {state}")
        request = created.data.request
        planned: dict[tuple[str, int], ev.ActionPlanned] = {}
        produced: ev.OutputProduced | None = None
        for event in events:
            data = event.data
            if isinstance(data, ev.ActionPlanned):
                planned[(data.step_id, data.action_order)] = data
            elif isinstance(data, ev.ActionExecuted):
                plan = planned.get((data.step_id, data.action_order))
                if plan is not None and data.status is ActionStatus.COMPLETED:
                    self._action(plan, data)
            elif isinstance(data, ev.OutputProduced):
                produced = data
        output = completed.output if completed.output is not None else (produced.output if produced else None)
        schema = request.get("data_extraction_schema")
        extraction = _extraction(output, produced.sources if produced else (), schema)
        goal = request.get("navigation_goal") or request.get("prompt")
        return ReplayPlan(
            source_run_id=created.run_id,
            goal=goal if isinstance(goal, str) else None,
            start_url=request.get("url") if isinstance(request.get("url"), str) else None,
            steps=tuple(self.steps),
            parameters=tuple(self.parameters),
            extraction=extraction,
            recorded_output=output,
        )

    # -- steps --

    def _action(self, plan: ev.ActionPlanned, done: ev.ActionExecuted) -> None:
        tool = plan.tool
        observed = done.observed
        number = len(self.steps) + 1
        if tool in _NOT_REPLAYED:
            return
        if tool == ENTER_CODE:
            if done.target is None:
                raise PlanNotCompilableError(
                    f"step {number}: the box the verification code went into was not recorded"
                )
            more = observed.more_targets if observed is not None else ()
            self.steps.append(
                PlanStep(
                    kind="totp-code",
                    description=f"Type a fresh verification code into {describe(done.target)}",
                    target=done.target,
                    more_targets=more,
                    expect=self._expect(done),
                )
            )
            return
        kind = _STEP_KINDS.get(tool)
        if tool in _UNSUPPORTED or (observed is not None and observed.action in _UNSUPPORTED):
            raise PlanNotCompilableError(f"step {number}: the action {tool!r} cannot be replayed")
        if kind is None and observed is not None and observed.action is not None:
            # Screen-driven engines name their tools their own way; the browser layer's name
            # for what was done is the same for every engine.
            kind = _STEP_KINDS.get(observed.action)
            if observed.action == "wait" or (kind is None and tool == "screenshot"):
                return
        if kind is None:
            raise PlanNotCompilableError(f"step {number}: the action {tool!r} cannot be replayed")
        params = plan.params
        target = done.target
        needs_target = kind in ("click", "hover", "fill", "select", "check")
        if needs_target and (target is None or target.empty):
            raise PlanNotCompilableError(
                f"step {number}: the element of the {tool} action was not recorded (a log from before "
                "selector bundles were recorded cannot be compiled)"
            )
        step: PlanStep
        if kind == "navigate":
            url = params.get("url")
            if not isinstance(url, str):
                raise PlanNotCompilableError(f"step {number}: the navigation has no URL")
            step = PlanStep(
                kind="navigate",
                description=f"Open {url}",
                value=url,
                expect=ExpectedEffect(url=strip_query(url)),
            )
        elif kind == "fill":
            text = plan.text if plan.text is not None else params.get("text")
            if not isinstance(text, str):
                raise PlanNotCompilableError(f"step {number}: what was typed was not recorded")
            step = PlanStep(
                kind="fill",
                description=f"Fill {describe(_t(target))}",
                target=target,
                value=self._value(text, target, number),
                submit=bool(params.get("submit", False)),
                expect=self._expect(done),
            )
        elif kind == "select":
            option = plan.option if plan.option is not None else params.get("option")
            if not isinstance(option, str):
                raise PlanNotCompilableError(f"step {number}: the option chosen was not recorded")
            step = PlanStep(
                kind="select",
                description=f"Choose an option of {describe(_t(target))}",
                target=target,
                value=self._value(option, target, number),
                expect=self._expect(done),
            )
        elif kind == "check":
            checked = params.get("checked", True)
            step = PlanStep(
                kind="check",
                description=f"{'Check' if checked else 'Uncheck'} {describe(_t(target))}",
                target=target,
                checked=bool(checked),
                expect=self._expect(done),
            )
        elif kind == "press":
            keys = params.get("keys") or (observed.keys if observed is not None else None)
            if not isinstance(keys, str) or not keys:
                raise PlanNotCompilableError(f"step {number}: the keys pressed were not recorded")
            step = PlanStep(
                kind="press",
                description=f"Press {keys}",
                target=target if params.get("element") else None,
                value=keys,
                expect=self._expect(done),
            )
        elif kind == "scroll":
            direction = params.get("direction", "down")
            amount = params.get("amount", 1.0)
            step = PlanStep(
                kind="scroll",
                description=f"Scroll {direction}",
                target=target if params.get("element") else None,
                direction=direction if direction in ("down", "up", "right", "left") else "down",
                amount=float(amount) if isinstance(amount, int | float) else 1.0,
            )
        elif kind == "wait":
            text = params.get("text")
            step = PlanStep(
                kind="wait",
                description=f"Wait for {text!r}" if isinstance(text, str) else "Wait for the page",
                target=target if params.get("element") else None,
                value=text if isinstance(text, str) else None,
            )
        else:  # click, hover
            step = PlanStep(
                kind=kind,
                description=f"{kind.capitalize()} {describe(_t(target))}",
                target=target,
                expect=self._expect(done),
            )
        self.steps.append(step)

    def _expect(self, done: ev.ActionExecuted) -> ExpectedEffect:
        observed = done.observed
        if observed is None:
            return ExpectedEffect()
        url = None
        moved = observed.url_after and observed.url_before is not None
        if moved and strip_query(observed.url_after or "") != strip_query(observed.url_before or ""):
            url = strip_query(observed.url_after or "")
        return ExpectedEffect(
            url=url,
            value_matches=True if observed.value_matches else None,
            checked=observed.checked,
            download=observed.downloads[0] if observed.downloads else None,
        )

    def _value(self, text: str, target: SelectorBundle | None, number: int) -> Value:
        secret = _SECRET.fullmatch(text)
        if secret is not None:
            name = secret.group(1)
            if self._find(name) is None:
                self.parameters.append(PlanParameter(name=name, type="secret", default=text))
            return SecretRef(secret=name)
        if _SECRET.search(text):
            raise PlanNotCompilableError(
                f"step {number}: a secret typed together with other text cannot be replayed"
            )
        base = parameter_name(target, "value")
        name, count = base, 1
        while self._find(name) is not None:
            count += 1
            name = f"{base}_{count}"
        label = describe(target) if target is not None else None
        self.parameters.append(PlanParameter(name=name, default=text, description=label))
        return ParameterRef(parameter=name)

    def _find(self, name: str) -> PlanParameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def _t(target: SelectorBundle | None) -> SelectorBundle:
    return target if target is not None else SelectorBundle()


# -- extraction ---------------------------------------------------------------------------


def leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every scalar of a JSON value with its path (objects by key, arrays by index)."""
    if isinstance(value, dict):
        for key in value:
            yield from leaves(value[key], (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def renderings(value: Any) -> list[str]:
    """How a scalar of the output may be written on the page, most specific first (a price is
    looked for as "49.00" before "49", which could be part of anything)."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return list(dict.fromkeys([f"{value:,}", str(value)]))
    if isinstance(value, float):
        found = [f"{value:,.2f}", f"{value:.2f}", repr(value)]
        if value.is_integer():
            found.append(str(int(value)))
        return list(dict.fromkeys(found))
    if isinstance(value, str):
        return [value] if value.strip() else []
    return []


def _field_type(value: Any) -> FieldType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _norm(text: str) -> str:
    return " ".join(text.split())


def value_pattern(text: str, value: str) -> str | None:
    """A regular expression whose first group is `value` inside `text`, anchored on the words
    next to it within the same sentence (None when the element's text is the value itself)."""
    text, value = _norm(text), _norm(value)
    if text == value:
        return None
    at = text.find(value)
    if at < 0:
        return None
    before = _BREAK.split(text[:at])[-1][-_CONTEXT_CHARS:]
    rest = text[at + len(value) :]
    head = re.escape(before.strip()) + r"\s*" if before.strip() else r"^\s*"
    if not rest.strip():
        return f"{head}(.+?)\\s*$"
    # Up to and including the first sentence break after the value.
    after = re.match(r"[^.!?\n]*[.!?\n]?", rest)
    snippet = (after.group(0) if after else rest)[:_CONTEXT_CHARS].strip()
    return f"{head}(.+?)\\s*{re.escape(snippet)}"


def _extraction(output: Any, sources: Sequence[TextSource], schema: Any) -> Extraction | None:
    if output is None:
        return None
    by_path = {s.path: s for s in sources}
    fields = []
    for path, value in leaves(output):
        if value is None:
            continue
        where = "/".join(str(p) for p in path) or "(the whole output)"
        source = by_path.get(path)
        if source is None:
            raise PlanNotCompilableError(f"the output's {where} was not read from an element of the page")
        if source.target.empty or source.target.closed_shadow:
            raise PlanNotCompilableError(
                f"the element the output's {where} was read from cannot be found again"
            )
        fields.append(
            ExtractField(
                path=path,
                target=source.target,
                pattern=value_pattern(source.text, source.value),
                type=_field_type(value),
            )
        )
    return Extraction(data_schema=schema, fields=tuple(fields))
