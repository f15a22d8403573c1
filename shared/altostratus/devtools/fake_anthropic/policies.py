"""Policies for the fake Messages server: small scripted "models" that read what they are sent.

A policy is `Callable[[MessagesRequest], Reply | HttpError]`. `agent_policy` routes each
request by what the engine asks for — the main loop, the completion verifier, structured
extraction or error classification (told apart by the forced tool) — to a function playing
that role. Role functions read the request the way a model would: `Page.element(...)` finds an
element id in the newest page snapshot by its role and words, so tests never hard-code ids.

    def agent(page: Page) -> Reply:
        if page.turn == 0:
            return act(ToolUse("type_text", {"element_id": page.element("textbox", "Email"), ...}))
        return done("Submitted")

    server = FakeAnthropicServer(agent_policy(agent, verifier=accept_when("Thank you")))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from altostratus.devtools.fake_anthropic.server import HttpError, MessagesRequest, Reply, Text, ToolUse

VERDICT_TOOL = "report_verdict"
EXTRACTION_TOOL = "record_extracted_data"
CLASSIFY_TOOL = "report_errors"
OBSERVATION_START = "<page_state "
# An element line starts with its id, e.g. `e12 button "Submit"` or `f1:e7 textbox "Email"`
# (indentation, a diff mark +/-/~ and brackets around the id are tolerated).
ELEMENT_LINE = re.compile(r"^\s*[+~*-]?\s*\[?(?P<id>(?:f\d+:)?e\d+)\]?\s+(?P<rest>.*)$")


class ElementNotFoundError(LookupError):
    """The page a policy reads has no element matching what it looks for (a test-script bug
    or a page that differs from what the test expects)."""


@dataclass(frozen=True)
class Page:
    """The main loop's request, read like a model reads it."""

    request: MessagesRequest

    @property
    def turn(self) -> int:
        """0 for the first call of the run, then 1, 2, ..."""
        return self.request.turn

    @property
    def observation(self) -> str:
        """The newest page_state block, as sent."""
        text = self.request.last_user_text()
        start = text.rfind(OBSERVATION_START)
        return text[start:] if start >= 0 else text

    def snapshots(self) -> list[str]:
        """Every page_state still in the conversation, newest first (elided ones are stubs)."""
        found: list[str] = []
        for message in reversed(self.request.messages):
            if message["role"] != "user":
                continue
            content = message["content"]
            for block in reversed(content if isinstance(content, list) else []):
                if block.get("type") == "text" and block["text"].startswith(OBSERVATION_START):
                    found.append(block["text"])
        return found

    @property
    def url(self) -> str:
        match = re.search(r"^URL: (\S+)", self.observation, re.MULTILINE)
        return match.group(1) if match else ""

    @property
    def title(self) -> str:
        match = re.search(r"^Title: (.*)$", self.observation, re.MULTILINE)
        return match.group(1).strip() if match else ""

    def sees(self, words: str) -> bool:
        return words.lower() in "\n".join(self.snapshots()[:1]).lower()

    def element(self, *words: str, role: str | None = None) -> str:
        """The id of the newest element whose line holds `role` and every word (case-insensitive)."""
        wanted = [w.lower() for w in words]
        for snapshot in self.snapshots():
            for line in snapshot.splitlines():
                match = ELEMENT_LINE.match(line)
                if match is None:
                    continue
                rest = match.group("rest").lower()
                if role is not None and not re.search(rf"(^|\W){re.escape(role.lower())}(\W|$)", rest):
                    continue
                if all(w in rest for w in wanted):
                    return match.group("id")
        raise ElementNotFoundError(f"no element {role or ''} {words} in the page:\n{self.observation[:3000]}")

    def result_of(self, tool: str) -> str | None:
        """The text of the newest tool_result answering `tool`, if the last turn called it."""
        block = self.request.last_tool_results().get(tool)
        if block is None:
            return None
        content = block.get("content", "")
        if isinstance(content, str):
            return content
        return "\n".join(b.get("text", "") for b in content if b.get("type") == "text")

    def engine_notes(self) -> str:
        """Text the engine added to the newest turn besides results and the page (nudges, ...)."""
        content = self.request.messages[-1]["content"]
        return "\n".join(
            b["text"]
            for b in (content if isinstance(content, list) else [])
            if b.get("type") == "text" and not b["text"].startswith(OBSERVATION_START)
        )


# --- replies -------------------------------------------------------------------------------


def act(*calls: ToolUse, thought: str = "Working towards the goal.") -> Reply:
    return Reply.of(Text(thought), *calls)


def done(summary: str, answer: Any = None) -> Reply:
    params: dict[str, Any] = {"summary": summary}
    if answer is not None:
        params["answer"] = answer
    return Reply.of(Text("The goal looks achieved."), ToolUse("done", params))


def terminate(reason: str, error_code: str | None = None) -> Reply:
    params: dict[str, Any] = {"reason": reason}
    if error_code is not None:
        params["error_code"] = error_code
    return Reply.of(Text("This cannot be done."), ToolUse("terminate", params))


# --- the verifier, extractor and classifier roles -----------------------------------------


FENCED = re.compile(r"^BEGIN_(PAGE_DATA_\w+)\n(.*?)^END_\1$", re.MULTILINE | re.DOTALL)


def page_text_of(request: MessagesRequest) -> str:
    """The fenced page content of the newest user message (what came from the web page)."""
    return "\n".join(m.group(2) for m in FENCED.finditer(request.last_user_text()))


def accept_when(*needles: str) -> Callable[[MessagesRequest], Reply]:
    """A verifier that accepts `done` only when the page it is shown contains every needle."""

    def verifier(request: MessagesRequest) -> Reply:
        text = page_text_of(request)
        missing = [n for n in needles if n.lower() not in text.lower()]
        verdict = {
            "complete": not missing,
            "missing": [f"the page does not show {n!r}" for n in missing],
            "evidence": "all expected content is on the page"
            if not missing
            else "expected content is absent",
        }
        return Reply.of(ToolUse(VERDICT_TOOL, verdict))

    return verifier


def accept_all(request: MessagesRequest) -> Reply:
    return Reply.of(ToolUse(VERDICT_TOOL, {"complete": True, "evidence": "looks done"}))


def extraction_reply(request: MessagesRequest, data: Any) -> Reply:
    """Answer an extraction request with `data`, wrapped the way its tool schema asks."""
    schema = request.tool_schema(EXTRACTION_TOOL)
    wrapped = set(schema.get("properties", {})) == {"data"} and schema.get("required") == ["data"]
    return Reply.of(ToolUse(EXTRACTION_TOOL, {"data": data} if wrapped else data))


def extract_with(read: Callable[[str], Any]) -> Callable[[MessagesRequest], Reply]:
    """An extractor that computes its answer from the page markdown it is sent."""

    def extractor(request: MessagesRequest) -> Reply:
        return extraction_reply(request, read(page_text_of(request)))

    return extractor


def no_extraction(request: MessagesRequest) -> Reply:
    raise AssertionError("this test expects no extraction call")


def classify_first_code(request: MessagesRequest) -> Reply:
    codes = request.tool_schema(CLASSIFY_TOOL)["properties"]["errors"]["items"]["properties"]["error_code"][
        "enum"
    ]
    return Reply.of(
        ToolUse(
            CLASSIFY_TOOL,
            {"errors": [{"error_code": codes[0], "reasoning": "fits", "confidence_float": 0.7}]},
        )
    )


def agent_policy(
    agent: Callable[[Page], Reply | HttpError],
    *,
    verifier: Callable[[MessagesRequest], Reply] = accept_all,
    extractor: Callable[[MessagesRequest], Reply] = no_extraction,
    classifier: Callable[[MessagesRequest], Reply] = classify_first_code,
) -> Callable[[MessagesRequest], Reply | HttpError]:
    """Route each request to the role it asks for (by the forced tool)."""

    def policy(request: MessagesRequest) -> Reply | HttpError:
        forced = request.forced_tool
        if forced == VERDICT_TOOL:
            return verifier(request)
        if forced == EXTRACTION_TOOL:
            return extractor(request)
        if forced == CLASSIFY_TOOL:
            return classifier(request)
        return agent(Page(request))

    return policy
