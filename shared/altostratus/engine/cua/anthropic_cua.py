"""anthropic-cua: the Messages API's computer tool, the version and beta header the model needs.

The conversation (Anthropic wire JSON) is the checkpointed state. Every `tool_use` of an
assistant turn is answered by exactly one `tool_result` in the next user turn (text: what the
action did, the URL and title; the last one also carries the fresh screenshot). Prompt caching
marks the stable prefix (tools, system) and the newest two user turns; only the newest
`cua_history_images` screenshots stay in the conversation. Screenshots are the viewport at
device scale 1 and the tool declares exactly that size, so coordinates need no scaling.
"""

from __future__ import annotations

import base64
from typing import Any

from altostratus.domain.enums import ActionType
from altostratus.engine.cua import keys
from altostratus.engine.cua.common import FUNCTION_TOOLS, browser_call, failed, in_display, pixel
from altostratus.engine.cua.model import CuaModel, Decision, Exchange, Feedback, Planned
from altostratus.engine.cua.task import RULES, CuaTask, error_code_in, looks_like_question, strip_images
from altostratus.ports.computer import (
    PixelClick,
    PixelDrag,
    PixelKeys,
    PixelMouseButton,
    PixelMove,
    PixelScroll,
    PixelType,
    PixelWait,
    Point,
)
from altostratus.ports.llm import LLMClient, LLMRequest, LLMRequestRejectedError, ToolCall

EPHEMERAL = {"type": "ephemeral"}
DONE, TERMINATE = "done", "terminate"
# Pixels a scroll "click" moves.
SCROLL_STEP_PX = 100
IMAGE_STUB = "(an earlier screenshot, no longer shown)"


def tool_version(model: str) -> tuple[str, str]:
    """(tool type, beta flag) for a model, per Anthropic's computer-use table."""
    name = model.lower()
    if "opus-4-8" in name or any(
        f"-{family}-5" in name for family in ("opus", "sonnet", "haiku", "fable", "mythos")
    ):
        raise LLMRequestRejectedError(
            f"{model} supports computer use only through the computer toolset, "
            "which this engine does not speak yet"
        )
    if any(m in name for m in ("opus-4-5", "opus-4-6", "opus-4-7", "sonnet-4-6")):
        return "computer_20251124", "computer-use-2025-11-24"
    if "3-5-sonnet" in name:
        return "computer_20241022", "computer-use-2024-10-22"
    return "computer_20250124", "computer-use-2025-01-24"


def _tools(task: CuaTask, tool_type: str) -> list[dict[str, Any]]:
    computer: dict[str, Any] = {
        "type": tool_type,
        "name": "computer",
        "display_width_px": task.width,
        "display_height_px": task.height,
    }
    if tool_type == "computer_20251124":
        computer["enable_zoom"] = False
    tools: list[dict[str, Any]] = [computer]
    tools += [{"name": n, "description": d, "input_schema": s} for n, d, s in FUNCTION_TOOLS]
    tools.append(
        {
            "name": DONE,
            "description": "The goal is achieved: give the answer the goal asks for.",
            "input_schema": {
                "type": "object",
                "properties": {"answer": {"type": "string"}},
                "required": ["answer"],
            },
        }
    )
    terminate: dict[str, Any] = {
        "name": TERMINATE,
        "description": "The goal cannot be achieved: say why (and the matching error code, if any).",
        "input_schema": {
            "type": "object",
            "properties": {"reason": {"type": "string"}, "error_code": {"type": "string"}},
            "required": ["reason"],
        },
    }
    tools.append({**terminate, "cache_control": EPHEMERAL})
    return tools


def _image(png: bytes) -> dict[str, Any]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png).decode()},
    }


def _limit_images(messages: list[dict[str, Any]], keep: int) -> None:
    seen = 0
    for message in reversed(messages):
        if message["role"] != "user" or not isinstance(message["content"], list):
            continue
        for block in reversed(message["content"]):
            holders = [block]
            if block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                holders = block["content"]
            for i, sub in enumerate(list(holders)):
                if sub.get("type") == "image":
                    seen += 1
                    if seen > keep:
                        holders[i] = {"type": "text", "text": IMAGE_STUB}


def _for_request(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with cache breakpoints on the last block of the newest two user turns."""
    out = [dict(m) for m in messages]
    marked = 0
    for message in reversed(out):
        if marked == 2:
            break
        if message["role"] == "user" and isinstance(message["content"], list):
            content = [dict(b) for b in message["content"]]
            content[-1] = {**content[-1], "cache_control": EPHEMERAL}
            message["content"] = content
            marked += 1
    return out


class AnthropicComputer(CuaModel):
    def __init__(self, llm: LLMClient, task: CuaTask) -> None:
        self.llm = llm
        self.task = task

    async def decide(self, state: dict[str, Any], feedback: Feedback) -> Decision:
        task = self.task
        tool_type, beta = tool_version(task.model)
        messages: list[dict[str, Any]] = state.setdefault("messages", [])
        where = feedback.location
        if not messages:
            content: list[dict[str, Any]] = [
                {"type": "text", "text": task.prompt()},
                {"type": "text", "text": where},
            ]
            content.append(_image(feedback.screenshot))
        else:
            content = self._results(state, feedback, where)
        content += [{"type": "text", "text": note} for note in feedback.notes]
        if messages and messages[-1]["role"] == "user":
            # A turn the model answered with text only: the engine's notes continue it.
            messages[-1]["content"] = list(messages[-1]["content"]) + content
        else:
            messages.append({"role": "user", "content": content})
        _limit_images(messages, task.settings.cua_history_images)
        request = LLMRequest(
            model=task.model,
            system=[{"type": "text", "text": RULES, "cache_control": EPHEMERAL}],
            messages=_for_request(messages),
            tools=_tools(task, tool_type),
            max_tokens=task.settings.max_output_tokens,
            betas=[beta],
            purpose="computer",
        )
        response = await self.llm.complete(request)
        messages.append(response.as_message())
        state["pending"] = [c.id for c in response.tool_calls]
        decision = Decision(
            reasoning=response.text or None,
            usage=response.usage,
            latency_ms=response.latency_ms,
            exchanges=[
                Exchange(request=strip_images(request.wire()), response=response.model_dump(mode="json"))
            ],
        )
        for call in response.tool_calls:
            params = call.input if isinstance(call.input, dict) else {}
            if call.name == DONE:
                decision.done = str(params.get("answer") or response.text or "")
            elif call.name == TERMINATE:
                decision.terminate = str(params.get("reason") or "no reason given")
                code = params.get("error_code")
                decision.error_code = str(code) if code and str(code) in task.error_codes else None
            elif call.name in ("goto", "back"):
                decision.actions.append(browser_call(call.id, call.name, params))
            else:
                decision.actions.append(self._computer(state, call, params))
        if not response.tool_calls and response.text:
            code = error_code_in(response.text, task.error_codes)
            if code is not None:
                decision.terminate, decision.error_code = response.text, code
            elif looks_like_question(response.text):
                decision.question = response.text
            else:
                decision.done = response.text
        return decision

    def _results(self, state: dict[str, Any], feedback: Feedback, where: str) -> list[dict[str, Any]]:
        by_id = {r.call_id: r for r in feedback.results}
        pending: list[str] = state.get("pending", [])
        blocks: list[dict[str, Any]] = []
        for i, call_id in enumerate(pending):
            result = by_id.get(call_id)
            text = result.summary if result is not None else "Done."
            inner: list[dict[str, Any]] = [{"type": "text", "text": text}]
            if i == len(pending) - 1:
                inner = [{"type": "text", "text": f"{text}\n{where}"}, _image(feedback.screenshot)]
            block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": inner}
            if result is not None and not result.ok:
                block["is_error"] = True
            blocks.append(block)
        if not pending:
            blocks = [{"type": "text", "text": where}, _image(feedback.screenshot)]
        return blocks

    def _computer(self, state: dict[str, Any], call: ToolCall, params: dict[str, Any]) -> Planned:
        task = self.task
        action = str(params.get("action", ""))
        cid = call.id

        def point(key: str = "coordinate") -> tuple[float, float] | str:
            raw = params.get(key)
            if raw is None and key == "coordinate" and "cursor" in state:
                raw = state["cursor"]
            if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, int | float) for v in raw)):
                return f"{action} needs {key} as [x, y]."
            x, y = float(raw[0]), float(raw[1])
            outside = in_display(x, y, task.width, task.height)
            return outside if outside else (x, y)

        try:
            held = keys.modifiers(
                params.get("text") if action.endswith("click") or action == "scroll" else None
            )
        except ValueError as exc:
            return failed(cid, action, ActionType.CLICK, params, str(exc))
        clicks = {
            "left_click": ("left", 1),
            "right_click": ("right", 1),
            "middle_click": ("middle", 1),
            "double_click": ("left", 2),
            "triple_click": ("left", 3),
        }
        if action in clicks:
            at = point()
            if isinstance(at, str):
                return failed(cid, action, ActionType.CLICK, params, at)
            state["cursor"] = list(at)
            button, count = clicks[action]
            return pixel(
                cid,
                action,
                ActionType.CLICK,
                params,
                PixelClick(x=at[0], y=at[1], button=button, count=count, modifiers=held),
            )
        if action == "mouse_move":
            at = point()
            if isinstance(at, str):
                return failed(cid, action, ActionType.MOVE, params, at)
            state["cursor"] = list(at)
            return pixel(cid, action, ActionType.MOVE, params, PixelMove(x=at[0], y=at[1]))
        if action == "left_click_drag":
            start, end = point("start_coordinate"), point()
            if isinstance(start, str) or isinstance(end, str):
                return failed(
                    cid, action, ActionType.DRAG, params, str(start if isinstance(start, str) else end)
                )
            state["cursor"] = list(end)
            return pixel(
                cid,
                action,
                ActionType.DRAG,
                params,
                PixelDrag(path=(Point(x=start[0], y=start[1]), Point(x=end[0], y=end[1]))),
            )
        if action in ("left_mouse_down", "left_mouse_up"):
            direction = "down" if action.endswith("down") else "up"
            return pixel(cid, action, ActionType.LEFT_MOUSE, params, PixelMouseButton(direction=direction))
        if action == "type":
            text = params.get("text")
            if not isinstance(text, str) or not text:
                return failed(cid, action, ActionType.INPUT_TEXT, params, "type needs text.")
            return pixel(cid, action, ActionType.INPUT_TEXT, params, PixelType(text=text))
        if action in ("key", "hold_key"):
            try:
                chord = keys.chord(str(params.get("text", "")).split("+"))
            except ValueError as exc:
                return failed(cid, action, ActionType.KEYPRESS, params, f"{exc}.")
            repeat = params.get("repeat", 1)
            hold = float(params.get("duration", 0) or 0) if action == "hold_key" else 0.0
            return pixel(
                cid,
                action,
                ActionType.KEYPRESS,
                params,
                PixelKeys(
                    keys=chord,
                    repeat=repeat if isinstance(repeat, int) and repeat > 0 else 1,
                    hold_s=min(hold, 30.0),
                ),
            )
        if action == "scroll":
            at = point() if params.get("coordinate") is not None else (task.width / 2, task.height / 2)
            if isinstance(at, str):
                return failed(cid, action, ActionType.SCROLL, params, at)
            amount = params.get("scroll_amount", 3)
            amount = amount if isinstance(amount, int) and amount >= 0 else 3
            dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}.get(
                str(params.get("scroll_direction")), (0, 1)
            )
            return pixel(
                cid,
                action,
                ActionType.SCROLL,
                params,
                PixelScroll(
                    x=at[0],
                    y=at[1],
                    dx=dx * amount * SCROLL_STEP_PX,
                    dy=dy * amount * SCROLL_STEP_PX,
                    modifiers=held,
                ),
            )
        if action == "wait":
            duration = params.get("duration", 1)
            seconds = float(duration) if isinstance(duration, int | float) else 1.0
            return pixel(
                cid, action, ActionType.WAIT, params, PixelWait(seconds=min(max(seconds, 0.0), 30.0))
            )
        if action == "screenshot":
            return pixel(cid, action, ActionType.NULL_ACTION, params, None)
        if action == "cursor_position":
            x, y = state.get("cursor", [0, 0])
            return failed(cid, action, ActionType.NULL_ACTION, params, f"X={x},Y={y}")
        return failed(
            cid,
            action or "computer",
            ActionType.NULL_ACTION,
            params,
            f"The action {action!r} is not supported.",
        )
