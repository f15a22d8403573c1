"""openai-cua: the Responses API's computer tool.

The preview tool (`computer_use_preview` with the declared display, `truncation: "auto"`) for
`computer-use-preview*` models, the GA tool (`{"type": "computer"}`, batched `actions`,
screenshots with `detail: "original"`) for the others. The history lives on OpenAI's side:
the checkpointed state is only `previous_response_id`, the calls to answer and the safety
checks to acknowledge. The first request carries the first screenshot, so step 1 is one call.
"""

from __future__ import annotations

import json
from typing import Any

from altostratus.domain.enums import ActionType
from altostratus.domain.models import cost_usd
from altostratus.engine.cua import keys
from altostratus.engine.cua.common import FUNCTION_TOOLS, browser_call, failed, in_display, pixel
from altostratus.engine.cua.model import CuaModel, Decision, Exchange, Feedback, Planned, SafetyCheck
from altostratus.engine.cua.task import (
    RULES,
    CuaTask,
    data_url,
    error_code_in,
    looks_like_question,
    strip_images,
)
from altostratus.ports.computer import (
    PixelClick,
    PixelDrag,
    PixelKeys,
    PixelMove,
    PixelScroll,
    PixelType,
    PixelWait,
    Point,
)
from altostratus.ports.llm import LLMUsage
from altostratus.ports.openai_api import ResponsesClient

WAIT_S = 1.0


def is_preview(model: str) -> bool:
    return model.startswith("computer-use-preview")


class OpenAIComputer(CuaModel):
    def __init__(self, client: ResponsesClient, task: CuaTask) -> None:
        self.client = client
        self.task = task

    def _tools(self) -> list[dict[str, Any]]:
        task = self.task
        computer: dict[str, Any] = (
            {
                "type": "computer_use_preview",
                "display_width": task.width,
                "display_height": task.height,
                "environment": "browser",
            }
            if is_preview(task.model)
            else {"type": "computer"}
        )
        functions = [
            {"type": "function", "name": n, "description": d, "parameters": s, "strict": False}
            for n, d, s in FUNCTION_TOOLS
        ]
        return [computer, *functions]

    def _screenshot(self, png: bytes) -> dict[str, Any]:
        shot: dict[str, Any] = {"type": "computer_screenshot", "image_url": data_url(png)}
        if not is_preview(self.task.model):
            shot["detail"] = "original"
        return shot

    async def decide(self, state: dict[str, Any], feedback: Feedback) -> Decision:
        task = self.task
        body: dict[str, Any] = {"model": task.model, "tools": self._tools(), "instructions": RULES}
        if is_preview(task.model):
            body["truncation"] = "auto"
            body["reasoning"] = {"summary": "concise"}
        previous = state.get("previous_response_id")
        if previous is None:
            body["input"] = [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": task.prompt()},
                        {"type": "input_image", "image_url": data_url(feedback.screenshot)},
                    ],
                }
            ]
        else:
            body["previous_response_id"] = previous
            body["input"] = self._outputs(state, feedback)
        reply = await self.client.create(body)
        response = reply.body
        state["previous_response_id"] = response["id"]
        usage = response.get("usage") or {}
        cached = int((usage.get("input_tokens_details") or {}).get("cached_tokens") or 0)
        prompt = int(usage.get("input_tokens") or 0)
        out_tokens = int(usage.get("output_tokens") or 0)
        decision = Decision(
            usage=LLMUsage(
                input_tokens=max(0, prompt - cached),
                cache_read_tokens=cached,
                output_tokens=out_tokens,
                cost_usd=cost_usd(
                    task.model,
                    input_tokens=max(0, prompt - cached),
                    cache_write_tokens=0,
                    cache_read_tokens=cached,
                    output_tokens=out_tokens,
                ),
                calls=1,
            ),
            latency_ms=reply.latency_ms,
            exchanges=[Exchange(request=strip_images(body), response=strip_images(response))],
        )
        reasoning: list[str] = []
        message: list[str] = []
        calls: list[dict[str, Any]] = []
        for item in response.get("output") or []:
            kind = item.get("type")
            if kind == "reasoning":
                reasoning += [s.get("text", "") for s in item.get("summary") or []]
            elif kind == "message":
                message += [
                    c.get("text", "") for c in item.get("content") or [] if c.get("type") == "output_text"
                ]
            elif kind == "computer_call":
                calls.append(
                    {
                        "call_id": item["call_id"],
                        "kind": "computer",
                        "checks": item.get("pending_safety_checks") or [],
                    }
                )
                for check in item.get("pending_safety_checks") or []:
                    decision.safety_checks.append(
                        SafetyCheck(
                            id=str(check.get("id")), code=check.get("code"), message=check.get("message")
                        )
                    )
                batch = item.get("actions") or ([item["action"]] if item.get("action") else [])
                for n, action in enumerate(batch):
                    # One call, several actions: the call id answers them all (keyed per action here).
                    decision.actions.append(self._action(f"{item['call_id']}#{n}", action))
            elif kind == "function_call":
                calls.append({"call_id": item["call_id"], "kind": "function"})
                try:
                    args = json.loads(item.get("arguments") or "{}")
                except ValueError:
                    args = {}
                decision.actions.append(
                    browser_call(
                        f"{item['call_id']}#0", str(item.get("name")), args if isinstance(args, dict) else {}
                    )
                )
        state["calls"] = calls
        text = "\n".join(t for t in message if t).strip()
        decision.reasoning = "\n".join(t for t in reasoning if t).strip() or (text if calls else None) or None
        if not calls and text:
            code = error_code_in(text, task.error_codes)
            if code is not None:
                decision.terminate, decision.error_code = text, code
            elif looks_like_question(text):
                decision.question = text
            else:
                decision.done = text
        return decision

    def _outputs(self, state: dict[str, Any], feedback: Feedback) -> list[dict[str, Any]]:
        """One output per call of the previous response; notes as a user message."""
        items: list[dict[str, Any]] = []
        for call in state.get("calls", []):
            call_id = call["call_id"]
            mine = [r for r in feedback.results if r.call_id.split("#")[0] == call_id]
            if call["kind"] == "computer":
                item: dict[str, Any] = {
                    "type": "computer_call_output",
                    "call_id": call_id,
                    "output": self._screenshot(feedback.screenshot),
                }
                if call.get("checks"):
                    item["acknowledged_safety_checks"] = call["checks"]
                items.append(item)
            else:
                text = "; ".join(r.summary for r in mine) or "Done."
                items.append({"type": "function_call_output", "call_id": call_id, "output": text})
        if feedback.notes:
            items.append(
                {"role": "user", "content": [{"type": "input_text", "text": n} for n in feedback.notes]}
            )
        return items

    def _action(self, cid: str, action: dict[str, Any]) -> Planned:
        task = self.task
        kind = str(action.get("type"))
        try:
            held = keys.modifiers(action.get("keys")) if kind != "keypress" else ()
        except ValueError as exc:
            return failed(cid, kind, ActionType.CLICK, action, str(exc))

        def at() -> tuple[float, float] | str:
            x, y = action.get("x"), action.get("y")
            if not isinstance(x, int | float) or not isinstance(y, int | float):
                return f"{kind} needs x and y."
            return in_display(float(x), float(y), task.width, task.height) or (float(x), float(y))

        if kind in ("click", "double_click"):
            point = at()
            if isinstance(point, str):
                return failed(cid, kind, ActionType.CLICK, action, point)
            button = str(action.get("button", "left"))
            if kind == "click" and button not in ("left", "right", "wheel"):
                return failed(
                    cid, kind, ActionType.CLICK, action, f"The {button} button is not supported in a browser."
                )
            mapped = {"wheel": "middle"}.get(button, button) if kind == "click" else "left"
            return pixel(
                cid,
                kind,
                ActionType.CLICK,
                action,
                PixelClick(
                    x=point[0],
                    y=point[1],
                    button=mapped,
                    count=2 if kind == "double_click" else 1,
                    modifiers=held,
                ),
            )
        if kind == "move":
            point = at()
            if isinstance(point, str):
                return failed(cid, kind, ActionType.MOVE, action, point)
            return pixel(
                cid, kind, ActionType.MOVE, action, PixelMove(x=point[0], y=point[1], modifiers=held)
            )
        if kind == "drag":
            path = action.get("path") or []
            raw = [(p.get("x"), p.get("y")) for p in path if isinstance(p, dict)]
            if len(raw) < 2 or not all(isinstance(v, int | float) for pt in raw for v in pt):
                return failed(cid, kind, ActionType.DRAG, action, "drag needs a path of at least two points.")
            points = [(float(x), float(y)) for x, y in raw]  # type: ignore[arg-type]
            for x, y in points:
                outside = in_display(x, y, task.width, task.height)
                if outside:
                    return failed(cid, kind, ActionType.DRAG, action, outside)
            return pixel(
                cid,
                kind,
                ActionType.DRAG,
                action,
                PixelDrag(path=tuple(Point(x=float(x), y=float(y)) for x, y in points), modifiers=held),
            )
        if kind == "scroll":
            point = at()
            if isinstance(point, str):
                return failed(cid, kind, ActionType.SCROLL, action, point)
            return pixel(
                cid,
                kind,
                ActionType.SCROLL,
                action,
                PixelScroll(
                    x=point[0],
                    y=point[1],
                    dx=float(action.get("scroll_x") or 0),
                    dy=float(action.get("scroll_y") or 0),
                    modifiers=held,
                ),
            )
        if kind == "type":
            text = action.get("text")
            if not isinstance(text, str):
                return failed(cid, kind, ActionType.INPUT_TEXT, action, "type needs text.")
            return pixel(cid, kind, ActionType.INPUT_TEXT, action, PixelType(text=text))
        if kind == "keypress":
            try:
                chord = keys.chord([str(k) for k in action.get("keys") or []])
            except ValueError as exc:
                return failed(cid, kind, ActionType.KEYPRESS, action, f"{exc}.")
            return pixel(cid, kind, ActionType.KEYPRESS, action, PixelKeys(keys=chord))
        if kind == "wait":
            return pixel(cid, kind, ActionType.WAIT, action, PixelWait(seconds=WAIT_S))
        if kind == "screenshot":
            return pixel(cid, kind, ActionType.NULL_ACTION, action, None)
        return failed(cid, kind, ActionType.NULL_ACTION, action, f"The action {kind!r} is not supported.")
